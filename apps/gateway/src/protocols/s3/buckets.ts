import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { BucketUsageView, BucketView } from '@claudefs/api';
import { isFsError } from '../../storage/errors.ts';
import { type Attributes, ROOT } from '../../storage/types.ts';
import { header, type S3Call, type S3Env } from './context.ts';
import { corsRulesIn } from './cors/rules.ts';
import { isS3Error, S3Error } from './errors.ts';
import { isValidBucketName } from './keys.ts';
import { decodeLifecycle, describeRule, LIFECYCLE_XATTR } from './lifecycle/rules.ts';
import { type BucketObjectLock, objectLockOf } from './object-lock/bucket-config.ts';
import { bucketDir, bucketEntries } from './objects.ts';
import { isPublic, policyIn } from './policy/bucket-policy.ts';
import { blockedSettings, publicAccessBlockIn } from './public-access-block.ts';
import { decodeTags, TAGS_XATTR } from './tagging.ts';
import { versioningOf } from './versioning/writes.ts';

/** One bucket as an operator reads it (`./cfs s3 buckets`, the console's Buckets page). */
export type BucketSummary = BucketView;

/** What a bucket holds, counted by walking it. */
export type BucketUsage = BucketUsageView;

/** Every bucket (valid-named directory of s3.root), in name order. */
export async function bucketSummaries(
  env: S3Env,
  ownerName: (uid: number) => string | null,
): Promise<BucketSummary[]> {
  const { ns, config } = env;
  const out: BucketSummary[] = [];
  for (const e of await bucketEntries(env, ROOT)) {
    const a = await ns.getattr(e.ino).catch(() => undefined);
    if (!a) continue;
    const xattrs = await ns.listXattrs(a.ino);
    const block = publicAccessBlockIn(xattrs);
    const rules = decodeLifecycle(xattrs.get(LIFECYCLE_XATTR));
    out.push({
      name: e.name,
      owner: ownerName(a.uid),
      ownerUid: a.uid,
      ownerGid: a.gid,
      created: new Date(Number(a.btimeNs / 1_000_000n)).toISOString(),
      mode: `0${(a.mode & 0o7777).toString(8)}`,
      publicRead: config.publicReadBuckets.includes(e.name) && !block?.IgnorePublicAcls,
      publicAccessBlock: blockedSettings(block),
      lifecycle: rules.map((r) => `${r.id}: ${r.enabled ? '' : '(disabled) '}${describeRule(r)}`),
      tags: decodeTags(await ns.getXattr(a.ino, TAGS_XATTR)),
      versioning: (await versioningOf(env, a.ino)) ?? null,
      objectLock: lockView(await objectLockOf(env, a.ino)),
      policy: policyView(xattrs, block?.RestrictPublicBuckets === true),
      cors: corsView(xattrs),
    });
  }
  return out;
}

export const EXPECTED_OWNER = 'x-amz-expected-bucket-owner';
/** CopyObject's and UploadPartCopy's, for the source's bucket. */
export const SOURCE_EXPECTED_OWNER = 'x-amz-source-expected-bucket-owner';

/**
 * A request naming an expected bucket owner (S3's account ID) goes on only when that is the
 * owner this gateway shows for the bucket — Owner/ID in ACLs and listings: its directory's uid,
 * in decimal. Another is 403 AccessDenied, as S3 answers.
 */
export function checkExpectedOwner(
  headers: S3Call['headers'],
  name: typeof EXPECTED_OWNER | typeof SOURCE_EXPECTED_OWNER,
  bucket: Pick<Attributes, 'uid'>,
): void {
  const expected = header(headers, name);
  if (expected !== undefined && expected.trim() !== String(bucket.uid))
    throw new S3Error('AccessDenied', `The bucket's owner is not the one ${name} names.`);
}

/**
 * The request's bucket checked against `x-amz-expected-bucket-owner` (dispatch.ts, before any
 * bucket's handler). A bucket that is not there is the operation's to answer (NoSuchBucket, or
 * CreateBucket's to make).
 */
export async function checkExpectedBucketOwner(call: S3Call): Promise<void> {
  if (call.headers[EXPECTED_OWNER] === undefined) return;
  const dir = await bucketDir(call.env, call.cred, call.bucket).catch((e: unknown) => {
    if (isS3Error(e, 'NoSuchBucket')) return undefined;
    throw e;
  });
  if (dir) checkExpectedOwner(call.headers, EXPECTED_OWNER, dir);
}

function policyView(xattrs: ReadonlyMap<string, Buffer>, restricted: boolean): BucketSummary['policy'] {
  const stored = policyIn(xattrs);
  return stored
    ? { statements: stored.policy.statements.length, public: isPublic(stored.policy) && !restricted }
    : null;
}

function corsView(xattrs: ReadonlyMap<string, Buffer>): BucketSummary['cors'] {
  const rules = corsRulesIn(xattrs);
  return rules ? { rules: rules.length, origins: [...new Set(rules.flatMap((r) => r.origins))] } : null;
}

function lockView(lock: BucketObjectLock | undefined): BucketSummary['objectLock'] {
  if (!lock) return null;
  const r = lock.rule;
  return { defaultRetention: r ? `${r.mode} ${r.days ? `${r.days}d` : `${r.years}y`}` : null };
}

/**
 * Counts a bucket's objects (its files, at any depth: those NFS and SMB clients put there
 * too) and their bytes, then the versions kept for it (versioning), directory by directory,
 * giving the event loop back between pages. A walk that runs past `budgetMs` stops and says
 * so. NoSuchBucket is the caller's to raise: undefined for a name that is no bucket.
 */
export async function measureBucket(
  env: S3Env,
  bucket: string,
  budgetMs = 20_000,
  now: () => number = () => performance.now(),
): Promise<BucketUsage | undefined> {
  const { ns } = env;
  const t0 = now();
  let root: bigint;
  try {
    const a = await ns.lookup(ROOT, env.rootIno, bucket);
    if (a.type !== 'dir' || !isValidBucketName(bucket)) return undefined;
    root = a.ino;
  } catch (e) {
    if (isFsError(e, 'ENOENT')) return undefined;
    throw e;
  }
  const deadline = t0 + budgetMs;
  const current = await countFiles(env, root, deadline, now);
  const versionRoot = await env.versions.bucketRoot(root);
  const kept = versionRoot
    ? await countFiles(env, versionRoot.ino, deadline, now)
    : { files: 0, bytes: 0n, complete: true };
  return {
    bucket,
    objects: current.files,
    bytes: String(current.bytes),
    versions: kept.files,
    versionBytes: String(kept.bytes),
    complete: current.complete && kept.complete,
    ms: now() - t0,
  };
}

/** The files under a directory, at any depth, and their bytes, until `deadline`. */
async function countFiles(
  env: S3Env,
  root: bigint,
  deadline: number,
  now: () => number,
): Promise<{ files: number; bytes: bigint; complete: boolean }> {
  const { ns } = env;
  let files = 0;
  let bytes = 0n;
  const dirs = [root];
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    for (let cookie = 0n; ; ) {
      if (now() > deadline) return { files, bytes, complete: false };
      const page = await ns.readdir(ROOT, dir, cookie, 1024).catch(() => undefined);
      if (!page) break;
      for (const e of page.entries) {
        if (e.type === 'dir') dirs.push(e.ino);
        else if (e.type === 'file') {
          const a = await ns.getattr(e.ino).catch(() => undefined);
          if (!a) continue;
          files++;
          bytes += a.size;
        }
      }
      await yieldToLoop();
      if (page.eof || page.entries.length === 0) break;
      cookie = page.entries[page.entries.length - 1]!.cookie;
    }
  }
  return { files, bytes, complete: true };
}
