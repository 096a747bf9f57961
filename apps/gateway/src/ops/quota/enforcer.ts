import type { QuotaKind, QuotaRecord, Quotas } from '../../control/index.ts';
import { fsError } from '../../storage/errors.ts';
import type { LedgerCharge, LedgerGate } from '../../storage/ledger-gate.ts';
import type { SpaceLimits } from '../../storage/quota-space.ts';
import type { QuotaUsage } from '../../storage/types.ts';
import { formatSize } from '../../util/units.ts';
import {
  type Dimension,
  hardExceededLine,
  overSoft,
  refusalFor,
  softExceededLine,
  spaceLimits,
  subjectLabel,
  type UsageAmounts,
  usageText,
} from './limits.ts';

export interface QuotaLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface QuotaEnforcerOptions {
  quotas: Pick<Quotas, 'list' | 'setSoftExceededAt' | 'version'>;
  /** Committed usage, read outside any transaction (the poll's view). */
  usage(kind: QuotaKind, id: number): Promise<QuotaUsage>;
  /** Every subject's committed usage in one read: what a full pass reconciles against. */
  allUsage(): Promise<QuotaUsage[]>;
  log: QuotaLog;
  /** `quota.grace_period`, read on every use so a reload applies at once. */
  defaultGraceMs(): number;
  /** Per subject, at most one soft and one hard log line per this interval. Default 10 s. */
  logIntervalMs?: number;
  /** A poll makes a full pass at least this often, with no change seen. Default FULL_PASS_MS. */
  fullPassMs?: number;
  now?(): number;
}

/** The grace clock as this process last set it, until a poll has read it back from the database. */
interface ClockWrite {
  at: Date | null;
  /** The poll tick current when the write reached the database; unset while in flight. */
  settledTick?: number;
}

const keyOf = (kind: QuotaKind, id: number) => `${kind}:${id}`;

/**
 * A poll with no change to the table seen still makes a full pass this often: it catches usage
 * that crossed a soft limit where no gate saw it grow (a ledger repaired while the gateway ran).
 */
export const FULL_PASS_MS = 60_000;

/** The last change a subject's limits refused (the log line says it at most once a minute). */
export interface QuotaRefusal {
  /** Wall-clock ms. */
  at: number;
  dimension: Dimension;
  /** 'soft' once the grace period is over. */
  limitKind: 'hard' | 'soft';
  used: bigint;
  /** What the refused change would have added. */
  asked: bigint;
  limit: bigint;
  unit: string | null;
}

const NO_USAGE: UsageAmounts = { bytes: 0n, inodes: 0n };

/**
 * Quota enforcement on the namespace ledger. `check` runs inside the metadata transaction
 * (run again from the start when PostgreSQL retries it), so it reads only the in-memory quota table that `refresh` fills from
 * the control plane; a refusal throws EDQUOT and the change writes nothing.
 */
export class QuotaEnforcer implements LedgerGate {
  private table = new Map<string, QuotaRecord>();
  private readonly clockWrites = new Map<string, ClockWrite>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly lastLogged = new Map<string, number>();
  private readonly refusals = new Map<string, QuotaRefusal>();
  private tick = 0;
  private refreshing: Promise<void> | undefined;
  /** The table's version token at the last full pass (undefined before the first). */
  private version: string | null | undefined;
  private fullPassAt = Number.NEGATIVE_INFINITY;
  private readonly fullPassMs: number;
  private readonly now: () => number;
  private readonly logIntervalMs: number;

  constructor(private readonly o: QuotaEnforcerOptions) {
    this.now = o.now ?? Date.now;
    this.logIntervalMs = o.logIntervalMs ?? 10_000;
    this.fullPassMs = o.fullPassMs ?? FULL_PASS_MS;
  }

  /** The quota in force for a subject (a snapshot, for tests and diagnostics). */
  quota(kind: QuotaKind, id: number): QuotaRecord | undefined {
    const q = this.table.get(keyOf(kind, id));
    return q && { ...q };
  }

  /** The last change refused for a subject since this process started (the quota wizard's evidence). */
  lastRefusal(kind: QuotaKind, id: number): QuotaRefusal | undefined {
    return this.refusals.get(keyOf(kind, id));
  }

  /** Every quota in force, as the last poll left the table (read-only: the gate's own records). */
  records(): readonly Readonly<QuotaRecord>[] {
    return [...this.table.values()];
  }

  watches(kind: QuotaKind, id: number): boolean {
    return this.table.has(keyOf(kind, id));
  }

  limits(kind: QuotaKind, id: number): SpaceLimits | undefined {
    const q = this.table.get(keyOf(kind, id));
    return q && spaceLimits(q);
  }

  check(charge: LedgerCharge): void {
    const now = this.now();
    const graceDefault = this.o.defaultGraceMs();
    const subjects: Array<[QuotaKind, number]> = [
      ['uid', charge.uid],
      ['gid', charge.gid],
    ];
    // Every subject is checked before anything is logged or recorded, so a change refused
    // for its group does not also start the user's grace clock.
    const crossings: Array<{ q: QuotaRecord; after: UsageAmounts; dimension: Dimension }> = [];
    for (const [kind, id] of subjects) {
      const q = this.table.get(keyOf(kind, id));
      if (!q) continue;
      const usage = charge.usage(kind, id);
      const refusal = refusalFor(q, usage, charge.addBytes, charge.addInodes, now, graceDefault);
      if (refusal) {
        // The line shows current usage against the limit (the runbook's `usage=12GB/12GB`),
        // not the usage the refused change would have reached: that never exists.
        const used = refusal.dimension === 'bytes' ? usage.bytes : usage.inodes;
        if (this.refusals.size >= 10_000) this.refusals.clear();
        this.refusals.set(keyOf(kind, id), {
          at: now,
          dimension: refusal.dimension,
          limitKind: refusal.limitKind,
          used,
          asked: refusal.dimension === 'bytes' ? charge.addBytes : charge.addInodes,
          limit: refusal.limit,
          unit: refusal.unit,
        });
        const line = hardExceededLine(
          kind,
          id,
          usageText(refusal.dimension, used, refusal.limit, refusal.unit),
        );
        if (this.shouldLog(`hard:${kind}:${id}`, now)) {
          this.o.log.error(
            {
              quota: { kind, id, dimension: refusal.dimension, limit: refusal.limitKind },
              // The line keeps the runbook's form (usage now / the limit that refused): what was
              // asked, and which limit, are said here.
              asked:
                refusal.dimension === 'bytes'
                  ? `+${formatSize(charge.addBytes)}`
                  : `+${charge.addInodes} inodes`,
              reason:
                refusal.limitKind === 'soft'
                  ? 'grace period expired: the soft limit now refuses as a hard one'
                  : 'the change would pass the hard limit',
            },
            line,
          );
        }
        throw fsError('EDQUOT', 'disk quota exceeded', subjectLabel(kind, id));
      }
      const after = { bytes: usage.bytes + charge.addBytes, inodes: usage.inodes + charge.addInodes };
      const dimension = overSoft(q, after);
      if (dimension && q.softExceededAt === null) crossings.push({ q, after, dimension });
    }
    for (const c of crossings) this.startGraceClock(c.q, c.after, c.dimension, now);
  }

  /**
   * A full pass: reloads the quota table, then reconciles grace clocks with committed usage —
   * a clock starts for a subject found over soft (its limit was lowered, or usage grew where
   * no gate saw it) and stops for one back under. Concurrent calls share one run.
   */
  refresh(): Promise<void> {
    return this.run(() => this.fullPass());
  }

  /**
   * What the gateway runs every QUOTA_POLL_MS: the table's version token, one small read,
   * then a full pass only if it changed (or none ran for `fullPassMs`); otherwise only the
   * running grace clocks are checked, to stop those whose subject is back under soft. Usage
   * grows through the gate, which starts a clock itself (`check`), so a poll costs the same
   * with 10 quotas as with 10,000: reading every one each time kept an idle gateway with
   * 2,000 quotas 16 % busy, its event loop stalled for 50 ms four times a second.
   */
  poll(): Promise<void> {
    return this.run(async () => {
      const version = await this.o.quotas.version();
      if (version !== this.version || this.now() - this.fullPassAt >= this.fullPassMs) {
        await this.fullPass(version);
        return;
      }
      const now = this.now();
      for (const q of [...this.table.values()]) {
        if (q.softExceededAt === null) continue;
        const u = await this.o.usage(q.kind, q.subjectId);
        if (this.table.get(keyOf(q.kind, q.subjectId)) === q) this.reconcile(q, u, now);
      }
    });
  }

  private run(pass: () => Promise<void>): Promise<void> {
    this.refreshing ??= pass().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Resolves when the running refresh and every grace-clock write started so far are done. */
  async settled(): Promise<void> {
    await this.refreshing?.catch(() => {});
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** `version`: the token read just before (read here when not given). */
  private async fullPass(version?: string | null): Promise<void> {
    const tick = ++this.tick;
    this.fullPassAt = this.now();
    const seen = version === undefined ? await this.o.quotas.version() : version;
    const rows = await this.o.quotas.list();
    const next = new Map<string, QuotaRecord>();
    for (const row of rows) {
      const key = keyOf(row.kind, row.subjectId);
      const own = this.clockWrites.get(key);
      if (own) {
        // A read that began after our write landed is authoritative; an older one may predate it.
        if (own.settledTick !== undefined && own.settledTick < tick) this.clockWrites.delete(key);
        else row.softExceededAt = own.at;
      }
      next.set(key, row);
    }
    for (const [key, own] of this.clockWrites) {
      if (!next.has(key) && own.settledTick !== undefined) this.clockWrites.delete(key);
    }
    this.table = next;
    // Taken only now: a change made while the table was read shows in the next poll's token.
    this.version = seen;
    // Only soft limits have clocks; a table of hard limits alone needs no usage read.
    const soft = [...next.values()].filter(
      (q) => q.softBytes !== null || q.softInodes !== null || q.softExceededAt !== null,
    );
    if (soft.length === 0) return;
    const usage = new Map((await this.o.allUsage()).map((u) => [keyOf(u.kind, u.id), u]));
    const now = this.now();
    for (const q of soft) this.reconcile(q, usage.get(keyOf(q.kind, q.subjectId)) ?? NO_USAGE, now);
  }

  private reconcile(q: QuotaRecord, u: UsageAmounts, now: number): void {
    const dimension = overSoft(q, u);
    if (dimension && q.softExceededAt === null) this.startGraceClock(q, u, dimension, now);
    else if (!dimension && q.softExceededAt !== null) this.writeClock(q, null);
  }

  private startGraceClock(q: QuotaRecord, usage: UsageAmounts, dimension: Dimension, now: number): void {
    this.writeClock(q, new Date(now));
    if (!this.shouldLog(`soft:${q.kind}:${q.subjectId}`, now)) return;
    const text =
      dimension === 'bytes'
        ? usageText('bytes', usage.bytes, q.softBytes ?? 0n, q.softUnit)
        : usageText('inodes', usage.inodes, q.softInodes ?? 0n, null);
    this.o.log.warn(
      { quota: { kind: q.kind, id: q.subjectId, dimension, limit: 'soft' } },
      softExceededLine(q.kind, q.subjectId, text),
    );
  }

  /** Sets the clock in memory at once (the gate reads it synchronously) and in the database behind. */
  private writeClock(q: QuotaRecord, at: Date | null): void {
    q.softExceededAt = at;
    const key = keyOf(q.kind, q.subjectId);
    const entry: ClockWrite = { at };
    this.clockWrites.set(key, entry);
    const write = this.o.quotas
      .setSoftExceededAt(q.kind, q.subjectId, at)
      .catch((err: unknown) => {
        this.o.log.warn(
          { err, quota: { kind: q.kind, id: q.subjectId } },
          `could not record the grace clock for ${subjectLabel(q.kind, q.subjectId)}; retrying at the next poll`,
        );
        // Forget the local value so the next poll re-derives the clock from the database.
        if (this.clockWrites.get(key) === entry) this.clockWrites.delete(key);
      })
      .then(() => {
        entry.settledTick = this.tick;
      })
      .finally(() => this.inflight.delete(write));
    this.inflight.add(write);
  }

  private shouldLog(key: string, now: number): boolean {
    const last = this.lastLogged.get(key);
    if (last !== undefined && now - last < this.logIntervalMs) return false;
    this.lastLogged.set(key, now);
    return true;
  }
}
