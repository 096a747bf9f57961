import type { Attributes } from '../../storage/types.ts';
import { ROOT } from '../../storage/types.ts';
import type { S3Env } from './context.ts';

/**
 * A bucket's attributes as the caches hold them, without waiting: undefined when any of the
 * root, the bucket's name or its attributes is not cached.
 */
export function cachedBucketXattrs(env: S3Env, bucket: string): ReadonlyMap<string, Buffer> | undefined {
  const { ns } = env;
  const root = ns.cachedAttrs(env.rootIno);
  const dir = root && ns.cachedLookup(ROOT, root, bucket);
  return dir && ns.cachedXattrs(dir.ino);
}

/**
 * A bucket's directory and attributes (the settings S3 keeps on it: policy, CORS…), from the
 * caches when they have them; undefined when there is no such bucket (its handler answers
 * NoSuchBucket).
 */
export async function bucketXattrs(
  env: S3Env,
  bucket: string,
): Promise<{ dir: Attributes; xattrs: ReadonlyMap<string, Buffer> } | undefined> {
  const { ns } = env;
  const root = ns.cachedAttrs(env.rootIno);
  let dir = root && ns.cachedLookup(ROOT, root, bucket);
  let xattrs = dir && ns.cachedXattrs(dir.ino);
  if (!dir || !xattrs) {
    try {
      dir = await ns.lookup(ROOT, env.rootIno, bucket);
    } catch {
      return undefined;
    }
    if (dir.type !== 'dir') return undefined;
    xattrs = await ns.listXattrs(dir.ino);
  }
  return { dir, xattrs };
}
