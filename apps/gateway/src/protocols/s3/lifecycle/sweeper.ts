import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from '../../../daemon/logger.ts';
import { ROOT } from '../../../storage/types.ts';
import { formatSize } from '../../../util/units.ts';
import type { S3Env } from '../context.ts';
import { removeKey } from '../handlers/delete-object.ts';
import { keyPath } from '../keys.ts';
import { BucketWalker } from '../listing.ts';
import { lockStateOf, protection } from '../object-lock/retention.ts';
import { bucketEntries, findObject } from '../objects.ts';
import { decodeTags, TAGS_XATTR, type Tag } from '../tagging.ts';
import { type StoredVersion, VERSION_TREE } from '../versioning/store.ts';
import { versioningOf } from '../versioning/writes.ts';
import {
  abortsAt,
  decodeLifecycle,
  describeRule,
  expiresAt,
  LIFECYCLE_XATTR,
  type LifecycleRule,
  matchesObject,
  noncurrentExpiresAt,
} from './rules.ts';

const HOUR = 3_600_000;
/** The first sweep after start: soon, but not in the middle of the start-up. */
const FIRST_SWEEP_MS = 60_000;
/** Objects examined between two turns given back to the event loop. */
const BATCH = 256;

export interface BucketSweep {
  bucket: string;
  expired: number;
  /** Bytes, as a decimal string (JSON has no bigint). */
  freedBytes: string;
  aborted: number;
  /** What stopped the bucket's sweep short, if anything. */
  error?: string;
}

/** One bucket's sweep: its rules, and what it did so far. */
interface BucketWork {
  bucket: string;
  bucketIno: bigint;
  all: readonly LifecycleRule[];
  done: BucketSweep;
  /** Bytes freed, counted as objects go (a sweep stopped short still reports them). */
  tally: { bytes: bigint };
}

export interface SweepReport {
  started: string;
  ms: number;
  /** Every bucket that has rules, in name order. */
  buckets: BucketSweep[];
  expired: number;
  freedBytes: string;
  aborted: number;
}

export interface LifecycleStatus {
  buckets: Array<{ bucket: string; rules: Array<LifecycleRule & { summary: string }> }>;
  lastSweep: SweepReport | undefined;
  /** Undefined while a sweep runs, or when sweeps come only when asked (`s3.lifecycle_interval: 0`). */
  nextSweep: string | undefined;
  sweeping: boolean;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * Carries out the buckets' lifecycle rules (rules.ts): a minute after start, then every
 * `s3.lifecycle_interval` (1h; 0: never by itself), and when an operator asks (`./cfs s3
 * lifecycle run`). S3 applies rules once a day; an hour keeps the gateway within one of the
 * time a rule names.
 *
 * An object expires when one enabled rule names it and its time has come: `Days` after its
 * last write (Last-Modified, as S3 counts; an NFS or SMB write restarts it) rounded up to
 * midnight UTC, or from the rule's `Date`. It is removed as DeleteObject removes it, but only
 * while it is still the object examined: one rewritten in between stays (nothing acknowledged
 * is lost to a sweep). Multipart uploads go `DaysAfterInitiation` after they started.
 */
export class LifecycleSweeper {
  /** Since start: objects expired, the bytes they held, uploads aborted (`gateway_s3_lifecycle_*`). */
  readonly totals = { expired: 0, freedBytes: 0n, aborted: 0 };
  private last: SweepReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextAt: number | undefined;
  /** The interval the pending timer was set for. */
  private scheduledFor: number | undefined;
  /** The sweep running or queued; sweeps never overlap. */
  private queue: Promise<unknown> = Promise.resolve();
  private active = 0;
  /** A scheduled sweep is running: it schedules the next when done. */
  private scheduledRunning = false;
  private stopped = false;

  constructor(
    private readonly env: S3Env,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** `s3.lifecycle_interval` in ms, read when a sweep is scheduled (a reload applies it); 0: never. */
    private readonly intervalMs: () => number = () => HOUR,
  ) {}

  start(): void {
    this.schedule(FIRST_SWEEP_MS);
  }

  /** After a reload: a new interval applies from now; a reload of anything else changes nothing. */
  reschedule(): void {
    if (this.intervalMs() === this.scheduledFor) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAt = undefined;
    if (!this.scheduledRunning) this.schedule(this.intervalMs());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.nextAt = undefined;
    await this.queue.catch(() => {});
  }

  /** Sweeps now (after one already running); resolves with what it did. */
  run(): Promise<SweepReport> {
    const sweep = this.queue.catch(() => {}).then(() => this.sweep());
    this.queue = sweep;
    return sweep;
  }

  /** Every bucket's rules, the last sweep and when the next one comes. */
  async status(): Promise<LifecycleStatus> {
    const buckets = (await this.bucketsWithRules()).map(({ bucket, rules }) => ({
      bucket,
      rules: rules.map((r) => ({ ...r, summary: describeRule(r) })),
    }));
    return {
      buckets,
      lastSweep: this.last,
      nextSweep: this.nextAt === undefined ? undefined : new Date(this.nextAt).toISOString(),
      sweeping: this.active > 0,
    };
  }

  /** The next sweep, at most `delay` from now (the interval when shorter). */
  private schedule(delay: number): void {
    const every = this.intervalMs();
    this.scheduledFor = every;
    this.nextAt = undefined;
    if (this.stopped || every <= 0) return;
    const wait = Math.min(delay, every);
    this.nextAt = this.now() + wait;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextAt = undefined;
      this.scheduledRunning = true;
      this.run()
        .catch((err: unknown) => this.log.warn({ err }, 'S3 lifecycle sweep failed; retrying at the next'))
        .finally(() => {
          this.scheduledRunning = false;
          this.schedule(this.intervalMs());
        });
    }, wait);
    this.timer.unref();
  }

  private async bucketsWithRules(): Promise<Array<{ bucket: string; ino: bigint; rules: LifecycleRule[] }>> {
    const out: Array<{ bucket: string; ino: bigint; rules: LifecycleRule[] }> = [];
    for (const e of await bucketEntries(this.env, ROOT)) {
      const rules = decodeLifecycle(
        await this.env.ns.getXattr(e.ino, LIFECYCLE_XATTR).catch(() => undefined),
      );
      if (rules.length > 0) out.push({ bucket: e.name, ino: e.ino, rules });
    }
    return out;
  }

  private async sweep(): Promise<SweepReport> {
    this.active++;
    try {
      return await this.sweepBuckets();
    } finally {
      this.active--;
    }
  }

  private async sweepBuckets(): Promise<SweepReport> {
    const t0 = this.now();
    const report: SweepReport = {
      started: new Date(t0).toISOString(),
      ms: 0,
      buckets: [],
      expired: 0,
      freedBytes: '0',
      aborted: 0,
    };
    const buckets = await this.bucketsWithRules();
    const uploads = buckets.some((b) =>
      b.rules.some((r) => r.enabled && r.abortUploadsAfterDays !== undefined),
    )
      ? await this.env.uploads.list()
      : [];
    let freed = 0n;
    for (const b of buckets) {
      if (this.stopped) break;
      const done: BucketSweep = { bucket: b.bucket, expired: 0, freedBytes: '0', aborted: 0 };
      // Counted as objects go, so a sweep stopped short still reports what it freed.
      const tally = { bytes: 0n };
      try {
        const work: BucketWork = { bucket: b.bucket, bucketIno: b.ino, all: b.rules, done, tally };
        await this.expireObjects(work);
        await this.expireVersions(work);
        done.aborted = await this.abortUploads(
          b.bucket,
          b.rules,
          uploads.filter((u) => u.info.bucket === b.bucket),
        );
      } catch (e) {
        done.error = (e as Error).message;
        this.log.warn({ err: e, bucket: b.bucket }, `S3 lifecycle sweep of bucket ${b.bucket} stopped short`);
      }
      const bytes = tally.bytes;
      done.freedBytes = String(bytes);
      freed += bytes;
      report.buckets.push(done);
      report.expired += done.expired;
      report.aborted += done.aborted;
      if (done.expired + done.aborted > 0)
        this.log.info(
          { bucket: b.bucket, expired: done.expired, freedBytes: done.freedBytes, aborted: done.aborted },
          `S3 lifecycle: bucket ${b.bucket}: ${plural(done.expired, 'object')} expired (${formatSize(bytes)} freed), ${plural(done.aborted, 'incomplete upload')} aborted`,
        );
    }
    report.freedBytes = String(freed);
    report.ms = this.now() - t0;
    this.last = report;
    return report;
  }

  /** Removes the bucket's objects whose time has come, counting them in `done` and `tally`. */
  private async expireObjects({ bucket, bucketIno, all, done, tally }: BucketWork): Promise<void> {
    const rules = all.filter((r) => r.enabled && (r.expirationDays ?? r.expirationDate) !== undefined);
    if (rules.length === 0) return;
    const { ns, listings } = this.env;
    // In a versioned bucket an expired object becomes a noncurrent version: nothing is freed yet.
    const versioned = (await versioningOf(this.env, bucketIno)) !== undefined;
    const root = await ns.getattr(bucketIno);
    const needTags = rules.some((r) => r.filter.tags.length > 0);
    const walker = new BucketWalker(ns, listings, ROOT, { prefix: commonPrefix(rules), after: '' });
    let seen = 0;
    for await (const { key, attrs } of walker.walk(root)) {
      if (this.stopped) break;
      if (++seen % BATCH === 0) await yieldToLoop();
      const now = this.now();
      const mtimeMs = Number(attrs.mtimeNs / 1_000_000n);
      const size = Number(attrs.size);
      const tags: Tag[] = needTags ? decodeTags(await ns.getXattr(attrs.ino, TAGS_XATTR)) : [];
      const rule = rules.find((r) => {
        const at = expiresAt(r, mtimeMs);
        return at !== undefined && now >= at && matchesObject(r, key, size, tags);
      });
      if (!rule) continue;
      const removed = await removeKey(this.env, ROOT, bucketIno, key, {
        ino: attrs.ino,
        changeId: attrs.changeId,
      });
      if (!removed) continue;
      done.expired++;
      this.totals.expired++;
      if (attrs.type === 'file' && !versioned) this.freed(tally, attrs.size);
      this.log.debug(
        { bucket, key, rule: rule.id, size: String(attrs.size) },
        'S3 lifecycle: object expired',
      );
    }
  }

  private freed(tally: { bytes: bigint }, bytes: bigint): void {
    tally.bytes += bytes;
    this.totals.freedBytes += bytes;
  }

  /**
   * In a versioned bucket: removes noncurrent versions past their rule's NoncurrentDays (counted
   * from when a newer version replaced them, beyond the NewerNoncurrentVersions kept), and
   * delete markers left with no version behind them (ExpiredObjectDeleteMarker).
   */
  private async expireVersions({ bucket, bucketIno, all, done, tally }: BucketWork): Promise<void> {
    const rules = all.filter(
      (r) => r.enabled && (r.noncurrentDays !== undefined || r.expiredObjectDeleteMarker),
    );
    if (rules.length === 0) return;
    const { ns, listings, versions } = this.env;
    const root = await versions.bucketRoot(bucketIno);
    if (!root) return;
    const needTags = rules.some((r) => r.filter.tags.length > 0);
    const walker = new BucketWalker(
      ns,
      listings,
      ROOT,
      { prefix: commonPrefix(rules), after: '' },
      VERSION_TREE,
    );
    let seen = 0;
    for await (const { key, attrs: container } of walker.walk(root)) {
      if (this.stopped) break;
      if (++seen % BATCH === 0) await yieldToLoop();
      const kp = keyPath(key);
      const current = await findObject(this.env, ROOT, bucketIno, key, kp).then(
        (f) => f.attrs,
        () => undefined,
      );
      const kept = await versions.versionsIn(container, current?.ino);
      const doomed: StoredVersion[] = [];
      // Each kept version became noncurrent when the next newer one (or the current object) was written.
      let newerMs = current ? Number(current.mtimeNs / 1_000_000n) : undefined;
      let newer = 0;
      for (const v of kept) {
        const since = newerMs;
        newerMs = Number(v.attrs.mtimeNs / 1_000_000n);
        if (v.marker) {
          const alone = !current && kept.length === 1;
          if (alone && rules.some((r) => r.expiredObjectDeleteMarker && key.startsWith(r.filter.prefix)))
            doomed.push(v);
          continue;
        }
        const tags: Tag[] = needTags ? decodeTags(await ns.getXattr(v.attrs.ino, TAGS_XATTR)) : [];
        const due = rules.some((r) => {
          const at = since === undefined ? undefined : noncurrentExpiresAt(r, since, newer);
          return at !== undefined && this.now() >= at && matchesObject(r, key, Number(v.attrs.size), tags);
        });
        newer++;
        if (due) doomed.push(v);
      }
      for (const v of doomed) {
        // Object Lock keeps it (retention or legal hold, in its attributes: a kept version's
        // hold says only that it is read-only): a later sweep takes it once free.
        if (protection(lockStateOf(await ns.listXattrs(v.attrs.ino)), this.now()) !== undefined) {
          this.log.debug(
            { bucket, key, version: v.versionId },
            'S3 lifecycle: noncurrent version kept by object lock',
          );
          continue;
        }
        // Under the key's lock: a version made current again meanwhile is no longer there to drop.
        const gone = await versions.locked(bucketIno, key, () => versions.drop(bucketIno, kp, v.versionId));
        if (!gone) continue;
        done.expired++;
        this.totals.expired++;
        if (!v.marker && v.attrs.nlink <= 1n) this.freed(tally, v.attrs.size);
        this.log.debug(
          { bucket, key, version: v.versionId, marker: v.marker },
          v.marker ? 'S3 lifecycle: lone delete marker removed' : 'S3 lifecycle: noncurrent version expired',
        );
      }
    }
  }

  /** Aborts the bucket's multipart uploads started long enough ago; resolves with how many. */
  private async abortUploads(
    bucket: string,
    all: readonly LifecycleRule[],
    uploads: Awaited<ReturnType<S3Env['uploads']['list']>>,
  ): Promise<number> {
    const rules = all.filter((r) => r.enabled && r.abortUploadsAfterDays !== undefined);
    const due = (key: string, initiated: number) =>
      rules.find(
        (r) => key.startsWith(r.filter.prefix) && this.now() >= (abortsAt(r, initiated) ?? Infinity),
      );
    let aborted = 0;
    for (const u of uploads) {
      if (this.stopped) break;
      const rule = due(u.info.key, u.info.initiated);
      if (!rule) continue;
      const gone = await this.env.uploads.abort(
        u.uploadId,
        (now) => due(now.info.key, now.info.initiated) !== undefined,
      );
      if (!gone) continue;
      aborted++;
      this.totals.aborted++;
      this.log.info(
        { bucket, key: u.info.key, upload: u.uploadId, rule: rule.id, parts: gone.parts.length },
        `S3 lifecycle: multipart upload ${u.uploadId} of ${bucket}/${u.info.key} aborted by rule ${rule.id} (started ${new Date(u.info.initiated).toISOString()})`,
      );
    }
    return aborted;
  }
}

/** The longest prefix every rule's keys share: the walk need not look elsewhere. */
function commonPrefix(rules: readonly LifecycleRule[]): string {
  let p = rules[0]!.filter.prefix;
  for (const r of rules) {
    let i = 0;
    while (i < p.length && i < r.filter.prefix.length && p[i] === r.filter.prefix[i]) i++;
    p = p.slice(0, i);
  }
  return p;
}
