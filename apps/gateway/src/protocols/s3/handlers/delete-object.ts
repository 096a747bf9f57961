import { isFsError } from '../../../storage/errors.ts';
import type { Attributes, Credential, RemoveExpectation } from '../../../storage/types.ts';
import type { S3Call, S3Env, S3Reply } from '../context.ts';
import { checkDeleteCondition, type DeleteCondition, deleteCondition, stale } from '../delete-condition.ts';
import { asS3Error } from '../deps.ts';
import { S3Error } from '../errors.ts';
import { heldKeyPath, type KeyPath } from '../keys.ts';
import { DIR_MARKER_XATTR } from '../metadata.ts';
import { bypassAsked } from '../object-lock/retention.ts';
import { bucketDir, parentDir, pruneEmptyParents } from '../objects.ts';
import { NULL_VERSION } from '../versioning/store.ts';
import {
  checkVersionId,
  deleteVersion,
  deleteVersioned,
  type VersionedDelete,
  versioningOf,
} from '../versioning/writes.ts';

/**
 * DELETE /bucket/key — 204 whether or not the object existed (S3 deletes are idempotent). In a
 * versioned bucket a delete marker takes the object's place (versioning/writes.ts); with
 * `?versionId=` that one version goes for good.
 */
export async function deleteObject(call: S3Call): Promise<S3Reply> {
  const versionId = call.query.get('versionId');
  const one = (name: string) => {
    const v = call.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const condition = deleteCondition({
    etags: one('if-match'),
    size: one('x-amz-if-match-size'),
    lastModified: one('x-amz-if-match-last-modified-time'),
    names: {
      etags: 'If-Match',
      size: 'x-amz-if-match-size',
      lastModified: 'x-amz-if-match-last-modified-time',
    },
  });
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const done = await deleteKey(
    call.env,
    call.cred,
    bucket,
    call.key,
    versionId,
    bypassGranted(call, bucket),
    condition,
  );
  return { status: 204, headers: deletedHeaders(done) };
}

/**
 * Whether the request asks to bypass GOVERNANCE retention (`x-amz-bypass-governance-retention`)
 * and may: S3's s3:BypassGovernanceRetention is the bucket's owner's (and root's) here.
 */
export function bypassGranted(call: S3Call, bucket: Attributes): boolean {
  return bypassAsked(call.headers) && (call.cred.uid === 0 || call.cred.uid === bucket.uid);
}

/** `x-amz-version-id` and `x-amz-delete-marker` of a delete that touched a version. */
export function deletedHeaders(done: VersionedDelete | undefined): Record<string, string> {
  if (!done) return {};
  const h: Record<string, string> = { 'x-amz-version-id': done.versionId };
  if (done.marker) h['x-amz-delete-marker'] = 'true';
  return h;
}

/**
 * DELETE of a key (DeleteObject, one entry of DeleteObjects): a version when one is named, a
 * delete marker in a versioned bucket, else the object itself — with a `condition`, only the
 * current object that meets it (delete-condition.ts).
 */
export async function deleteKey(
  env: S3Env,
  cred: Credential,
  bucket: Attributes,
  key: string,
  versionId: string | undefined,
  bypass = false,
  condition?: DeleteCondition,
): Promise<VersionedDelete | undefined> {
  try {
    return await deleteKeyNow(env, cred, bucket, key, versionId, bypass, condition);
  } catch (e) {
    // "Delete some objects" is no advice to a delete the full disk refused.
    const err = asS3Error(e);
    if (err.code !== 'InsufficientStorage') throw err;
    throw new S3Error(
      'InsufficientStorage',
      "The storage backing this gateway is full: even this delete could not be recorded. Room must be freed on the gateway's disk first (./cfs diagnose backend).",
    );
  }
}

async function deleteKeyNow(
  env: S3Env,
  cred: Credential,
  bucket: Attributes,
  key: string,
  versionId: string | undefined,
  bypass: boolean,
  condition: DeleteCondition | undefined,
): Promise<VersionedDelete | undefined> {
  const kp = heldKeyPath(key);
  if (versionId !== undefined) checkVersionId(versionId);
  if (condition) {
    // S3 evaluates a condition against the current version only.
    if (versionId !== undefined || kp?.marker)
      throw new S3Error(
        'NotImplemented',
        `A conditional delete (${condition.names.join(', ')}) of ${versionId !== undefined ? 'a named version' : 'a key ending in "/"'} is not supported.`,
      );
    if (!kp) throw new S3Error('NoSuchKey', 'The specified key does not exist.');
    return await deleteChecked(env, cred, bucket.ino, key, kp, condition);
  }
  // A key no object can have here: nothing to delete, as for any key that is not there.
  if (!kp) return undefined;
  if (versionId !== undefined) {
    if (kp.marker) {
      if (versionId === NULL_VERSION) await removeKey(env, cred, bucket.ino, key);
      return undefined;
    }
    return await deleteVersion(env, cred, bucket, key, kp, versionId, bypass);
  }
  const status = kp.marker ? undefined : await versioningOf(env, bucket.ino);
  if (status) return await deleteVersioned(env, status, cred, bucket.ino, key, kp);
  await removeKey(env, cred, bucket.ino, key);
  return undefined;
}

/** A conditional delete: the object checked goes, unless it changed meanwhile (412). */
async function deleteChecked(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  key: string,
  kp: KeyPath,
  condition: DeleteCondition,
): Promise<VersionedDelete | undefined> {
  const expect = await checkDeleteCondition(env, cred, bucketIno, kp, condition);
  const status = await versioningOf(env, bucketIno);
  if (status) {
    const done = await deleteVersioned(env, status, cred, bucketIno, key, kp, expect);
    if (!done) throw stale(condition);
    return done;
  }
  if (!(await removeKey(env, cred, bucketIno, key, expect))) throw stale(condition);
  return undefined;
}

/**
 * Removes the object a key names, if there is one; a directory marker loses its mark (and the
 * directory goes when empty). Directories left empty above it go too. With `expect` (a
 * lifecycle sweep), an object file goes only while it is the inode examined, unchanged since —
 * and in a versioned bucket it becomes a noncurrent version behind a delete marker, as S3's
 * expiration does there. Says whether anything was removed.
 */
export async function removeKey(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  key: string,
  expect?: RemoveExpectation,
): Promise<boolean> {
  const kp = heldKeyPath(key);
  if (!kp) return false;
  const { ns } = env;
  const status = expect && !kp.marker ? await versioningOf(env, bucketIno) : undefined;
  if (status) return (await deleteVersioned(env, status, cred, bucketIno, key, kp, expect)) !== undefined;
  const parent = await parentDir(env, cred, bucketIno, kp);
  if (!parent) return false;
  try {
    const a = await ns.lookup(cred, parent.ino, kp.name);
    if (kp.marker) {
      if (a.type !== 'dir' || !(await ns.getXattr(a.ino, DIR_MARKER_XATTR))) return false;
      await ns.setXattrs(cred, a.ino, { [DIR_MARKER_XATTR]: undefined });
      await ns.rmdir(cred, parent.ino, kp.name).catch((e: unknown) => {
        if (!isFsError(e, 'ENOTEMPTY')) throw e;
      });
    } else {
      if (a.type !== 'file') return false;
      const recall = ns.caching.recall(a.ino);
      if (recall) await recall;
      await ns.remove(cred, parent.ino, kp.name, expect);
    }
  } catch (e) {
    if (isFsError(e, 'ENOENT') || (expect && isFsError(e, 'ESTALE'))) return false;
    throw asS3Error(e);
  }
  await pruneEmptyParents(env, cred, bucketIno, kp.dirs);
  return true;
}
