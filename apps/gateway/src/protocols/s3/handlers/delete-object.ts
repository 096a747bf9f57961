import { isFsError } from '../../../storage/errors.ts';
import type { Credential, RemoveExpectation } from '../../../storage/types.ts';
import type { S3Call, S3Env, S3Reply } from '../context.ts';
import { asS3Error } from '../deps.ts';
import { keyPath } from '../keys.ts';
import { DIR_MARKER_XATTR } from '../metadata.ts';
import { bucketDir, parentDir, pruneEmptyParents } from '../objects.ts';

/** DELETE /bucket/key — 204 whether or not the object existed (S3 deletes are idempotent). */
export async function deleteObject(call: S3Call): Promise<S3Reply> {
  const versionId = call.query.get('versionId');
  if (versionId !== undefined && versionId !== 'null') {
    return { status: 204 };
  }
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  await removeKey(call.env, call.cred, bucket.ino, call.key);
  return { status: 204 };
}

/**
 * Removes the object a key names, if there is one; a directory marker loses its mark (and the
 * directory goes when empty). Directories left empty above it go too. With `expect` (a
 * lifecycle sweep), an object file goes only while it is the inode examined, unchanged since.
 * Says whether anything was removed.
 */
export async function removeKey(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  key: string,
  expect?: RemoveExpectation,
): Promise<boolean> {
  const kp = keyPath(key);
  const { ns } = env;
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
      await ns.remove(cred, parent.ino, kp.name, expect);
    }
  } catch (e) {
    if (isFsError(e, 'ENOENT') || (expect && isFsError(e, 'ESTALE'))) return false;
    throw asS3Error(e);
  }
  await pruneEmptyParents(env, cred, bucketIno, kp.dirs);
  return true;
}
