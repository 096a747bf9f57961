import { isFsError } from '../../storage/errors.ts';
import type { Attributes, Credential, RemoveExpectation } from '../../storage/types.ts';
import { etagMatches, preconditionFailed } from './conditions.ts';
import type { S3Env } from './context.ts';
import { S3Error } from './errors.ts';
import { objectEtag } from './etag.ts';
import type { KeyPath } from './keys.ts';
import { parentDir } from './objects.ts';

/**
 * A conditional delete's preconditions on the key's current object (S3 since 2025-09): its
 * ETag is one of `etags` (If-Match, `*` for any), its size is `size`, its Last-Modified is
 * `lastModified`, to the second. DeleteObject sends them as headers, a DeleteObjects entry as
 * its <ETag>, <Size> and <LastModifiedTime>.
 */
export interface DeleteCondition {
  etags?: string;
  size?: bigint;
  lastModified?: Date;
  /** How the request named them (the 412's Condition). */
  names: string[];
}

/** The condition a request's fields ask, or undefined when it asks none; a malformed value is InvalidArgument. */
export function deleteCondition(f: {
  etags?: string;
  size?: string;
  lastModified?: string;
  names: { etags: string; size: string; lastModified: string };
}): DeleteCondition | undefined {
  const c: DeleteCondition = { names: [] };
  if (f.etags !== undefined) {
    c.etags = f.etags;
    c.names.push(f.names.etags);
  }
  if (f.size !== undefined) {
    if (!/^\d{1,19}$/.test(f.size.trim()))
      throw new S3Error('InvalidArgument', `${f.names.size} must be a number of bytes.`, {
        ArgumentName: f.names.size,
        ArgumentValue: f.size,
      });
    c.size = BigInt(f.size.trim());
    c.names.push(f.names.size);
  }
  if (f.lastModified !== undefined) {
    const at = new Date(f.lastModified.trim());
    if (Number.isNaN(at.getTime()))
      throw new S3Error('InvalidArgument', `${f.names.lastModified} must be a date.`, {
        ArgumentName: f.names.lastModified,
        ArgumentValue: f.lastModified,
      });
    c.lastModified = at;
    c.names.push(f.names.lastModified);
  }
  return c.names.length > 0 ? c : undefined;
}

/**
 * Checks a conditional delete against the key's current object: none (or a delete marker in
 * its place) is NoSuchKey, one that does not match is PreconditionFailed. Answers what the
 * removal must still find: that object, unchanged — one replaced or written meanwhile is not
 * deleted (stale, below).
 */
export async function checkDeleteCondition(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  kp: KeyPath,
  c: DeleteCondition,
): Promise<RemoveExpectation> {
  const current = await currentFile(env, cred, bucketIno, kp);
  if (!current) throw new S3Error('NoSuchKey', 'The specified key does not exist.');
  const mismatch =
    (c.etags !== undefined &&
      !etagMatches(c.etags, await objectEtag(env.ns, current, await env.ns.listXattrs(current.ino)))) ||
    (c.size !== undefined && current.size !== c.size) ||
    (c.lastModified !== undefined &&
      current.mtimeNs / 1_000_000_000n !== BigInt(Math.floor(c.lastModified.getTime() / 1000)));
  if (mismatch) throw preconditionFailed(c.names.join(', '));
  return { ino: current.ino, changeId: current.changeId };
}

/** The object checked was replaced or written between the check and its removal: not deleted. */
export function stale(c: DeleteCondition): S3Error {
  return preconditionFailed(c.names.join(', '));
}

async function currentFile(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  kp: KeyPath,
): Promise<Attributes | undefined> {
  const parent = await parentDir(env, cred, bucketIno, kp);
  if (!parent) return undefined;
  try {
    const a = await env.ns.lookup(cred, parent.ino, kp.name);
    return a.type === 'file' ? a : undefined;
  } catch (e) {
    if (isFsError(e, 'ENOENT') || isFsError(e, 'ENOTDIR')) return undefined;
    throw e;
  }
}
