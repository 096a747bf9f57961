import { isFsError } from '../../storage/errors.ts';
import { type Attributes, type Credential, type DirEntry, ROOT } from '../../storage/types.ts';
import type { S3Env } from './context.ts';
import { fromFsError, S3Error } from './deps.ts';
import { heldKeyPath, isValidBucketName, type KeyPath } from './keys.ts';
import { DIR_MARKER_XATTR } from './metadata.ts';

/** Mode of directories the S3 server creates (buckets, prefixes) and of objects. */
export const DIR_MODE = 0o755;
export const FILE_MODE = 0o644;

export function noSuchBucket(bucket: string): S3Error {
  return new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
}

export function noSuchKey(key: string): S3Error {
  return new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
}

/**
 * The path of a key a read names (of its bucket, known to exist). A key no object can have
 * here (keys.ts heldKeyPath) is NoSuchKey, or NoSuchVersion for a version of it.
 */
export function readKeyPath(key: string, versionId?: string): KeyPath {
  const kp = heldKeyPath(key);
  if (kp) return kp;
  if (versionId !== undefined)
    throw new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId }, {});
  throw noSuchKey(key);
}

export function pathConflict(key: string, why: string): S3Error {
  return new S3Error(
    'ObjectPathConflict',
    `The object cannot be stored: ${why}. This gateway keeps objects as files, so an object and a prefix of the same name cannot both exist.`,
    { Key: key },
  );
}

/**
 * The buckets, sorted by name: the valid-named directories of s3.root that `cred` may list
 * (ListBuckets, `./cfs s3 buckets`, the lifecycle sweeps).
 */
export async function bucketEntries(env: S3Env, cred: Credential): Promise<DirEntry[]> {
  const out: DirEntry[] = [];
  for (let cookie = 0n; ; ) {
    const page = await env.ns.readdir(cred, env.rootIno, cookie, 1024);
    for (const e of page.entries) if (e.type === 'dir' && isValidBucketName(e.name)) out.push(e);
    if (page.eof || page.entries.length === 0) break;
    cookie = page.entries[page.entries.length - 1]!.cookie;
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The bucket's directory, or NoSuchBucket. */
export async function bucketDir(env: S3Env, cred: Credential, bucket: string): Promise<Attributes> {
  try {
    const a = await env.ns.lookup(cred, env.rootIno, bucket);
    if (a.type !== 'dir') throw noSuchBucket(bucket);
    return a;
  } catch (e) {
    if (isFsError(e, 'ENOENT') || isFsError(e, 'ENOTDIR')) throw noSuchBucket(bucket);
    throw fromFsError(e);
  }
}

/** The directory holding the key's final component, or undefined when a directory is missing. */
export async function parentDir(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  kp: KeyPath,
): Promise<Attributes | undefined> {
  let at = bucketIno;
  let attrs: Attributes | undefined;
  for (const d of kp.dirs) {
    try {
      attrs = await env.ns.lookup(cred, at, d);
    } catch (e) {
      if (isFsError(e, 'ENOENT') || isFsError(e, 'ENOTDIR')) return undefined;
      throw fromFsError(e);
    }
    if (attrs.type !== 'dir') return undefined;
    at = attrs.ino;
  }
  return attrs ?? (await env.ns.getattr(bucketIno));
}

export interface FoundObject {
  attrs: Attributes;
  parent: Attributes;
}

/**
 * The object a key names: a regular file, or for a key ending in `/` a directory carrying the
 * marker attribute. Anything else — missing, a directory for a plain key, a symlink — is
 * NoSuchKey.
 */
export async function findObject(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  key: string,
  kp: KeyPath,
): Promise<FoundObject> {
  const parent = await parentDir(env, cred, bucketIno, kp);
  if (!parent) throw noSuchKey(key);
  let attrs: Attributes;
  try {
    attrs = await env.ns.lookup(cred, parent.ino, kp.name);
  } catch (e) {
    if (isFsError(e, 'ENOENT') || isFsError(e, 'ENOTDIR')) throw noSuchKey(key);
    throw fromFsError(e);
  }
  if (kp.marker) {
    if (attrs.type !== 'dir' || !(await env.ns.getXattr(attrs.ino, DIR_MARKER_XATTR))) throw noSuchKey(key);
  } else if (attrs.type !== 'file') {
    throw noSuchKey(key);
  }
  return { attrs, parent };
}

/**
 * The object a read names (a file, not a directory marker), found from the namespace's caches
 * alone with the caller allowed to read it; undefined on any miss or refusal, findObject and
 * access() then answer or say why not. A cached GET so waits for nothing.
 */
export function cachedReadable(
  env: S3Env,
  cred: Credential,
  bucket: string,
  kp: KeyPath,
): Attributes | undefined {
  const { ns } = env;
  const root = ns.cachedAttrs(env.rootIno);
  let at = root && ns.cachedLookup(cred, root, bucket);
  for (const d of kp.dirs) {
    if (at?.type !== 'dir') return undefined;
    at = ns.cachedLookup(cred, at, d);
  }
  if (at?.type !== 'dir' || kp.marker) return undefined;
  const attrs = ns.cachedLookup(cred, at, kp.name);
  return attrs?.type === 'file' && ns.cachedAccess(cred, attrs, 4) === 4 ? attrs : undefined;
}

/**
 * Creates the key's missing directories as the caller and returns the innermost. A path
 * component that exists as a file is ObjectPathConflict: an object `a` and an object `a/b`
 * cannot both be stored.
 */
export async function ensureParents(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  kp: KeyPath,
  key: string,
): Promise<Attributes> {
  let at = await env.ns.getattr(bucketIno);
  for (const d of kp.dirs) {
    let next: Attributes | undefined;
    try {
      next = await env.ns.lookup(cred, at.ino, d);
    } catch (e) {
      if (!isFsError(e, 'ENOENT')) throw fromFsError(e);
    }
    if (!next) {
      try {
        next = await env.ns.mkdir(cred, at.ino, d, DIR_MODE);
      } catch (e) {
        if (!isFsError(e, 'EEXIST')) throw fromFsError(e);
        next = await env.ns.lookup(cred, at.ino, d).catch((err: unknown) => {
          throw fromFsError(err);
        });
      }
    }
    if (next.type !== 'dir') throw pathConflict(key, `"${d}" on the key's path is an object, not a prefix`);
    at = next;
  }
  return at;
}

/**
 * After a delete: directories left empty on the key's path go too, unless they are marker
 * objects themselves (S3 has no empty prefixes). Best effort: a directory that gained an
 * entry meanwhile stays.
 */
export async function pruneEmptyParents(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  dirs: string[],
): Promise<void> {
  const chain: Attributes[] = [];
  let at = bucketIno;
  for (const d of dirs) {
    try {
      const a = await env.ns.lookup(cred, at, d);
      if (a.type !== 'dir') return;
      chain.push(a);
      at = a.ino;
    } catch {
      return;
    }
  }
  for (let i = chain.length - 1; i >= 0; i--) {
    const dir = chain[i]!;
    const parent = i === 0 ? bucketIno : chain[i - 1]!.ino;
    try {
      if (await env.ns.getXattr(dir.ino, DIR_MARKER_XATTR)) return;
      const page = await env.ns.readdir(ROOT, dir.ino, 0n, 1);
      if (page.entries.length > 0) return;
      await env.ns.rmdir(cred, parent, dirs[i]!);
    } catch {
      return;
    }
  }
}
