import { isFsError } from '../../../storage/errors.ts';
import { NAME_MAX_BYTES } from '../../../storage/names.ts';
import { type Attributes, type Credential, type RemoveExpectation, ROOT } from '../../../storage/types.ts';
import type { S3Env } from '../context.ts';
import { asS3Error, S3Error } from '../deps.ts';
import { etagXattrs, objectEtag } from '../etag.ts';
import type { KeyPath } from '../keys.ts';
import { lockedError, lockStateOf, protection } from '../object-lock/retention.ts';
import { ensureParents, parentDir, pruneEmptyParents } from '../objects.ts';
import {
  isVersionId,
  NULL_VERSION,
  newVersionId,
  type StoredVersion,
  VERSION_ID_XATTR,
  versionIdOf,
} from './store.ts';

/** The bucket attribute holding its versioning status; absent: never enabled. */
export const VERSIONING_XATTR = 's3.versioning';
export type VersioningStatus = 'Enabled' | 'Suspended';

/** The bucket's versioning status, from its attributes as the namespace caches them (one per PUT). */
export async function versioningOf(env: S3Env, bucketIno: bigint): Promise<VersioningStatus | undefined> {
  const v = (await env.ns.listXattrs(bucketIno)).get(VERSIONING_XATTR)?.toString();
  return v === 'Enabled' || v === 'Suspended' ? v : undefined;
}

/** A version id as a request gives it: "null" or one of ours; anything else is refused. */
export function checkVersionId(v: string, argument = 'versionId'): string {
  if (!isVersionId(v))
    throw new S3Error('InvalidArgument', 'Invalid version id specified', {
      ArgumentName: argument,
      ArgumentValue: v.slice(0, 64),
    });
  return v;
}

/** A component's bytes in a versioned bucket: the version tree tags each name with one byte. */
const MAX_VERSIONED_NAME = NAME_MAX_BYTES - 1;

/** Keys whose versions the tree can hold; refused before anything is written. */
function checkVersionableKey(kp: KeyPath): void {
  for (const name of [...kp.dirs, kp.name])
    if (Buffer.byteLength(name, 'utf8') > MAX_VERSIONED_NAME)
      throw new S3Error(
        'KeyTooLongError',
        `In a bucket with versioning each part of a key between slashes is at most ${MAX_VERSIONED_NAME} bytes.`,
      );
}

/** The key's current object (a file in the bucket tree), or undefined. */
async function currentIn(
  env: S3Env,
  cred: Credential,
  dir: bigint,
  name: string,
): Promise<Attributes | undefined> {
  try {
    const a = await env.ns.lookup(cred, dir, name);
    return a.type === 'file' ? a : undefined;
  } catch (e) {
    if (isFsError(e, 'ENOENT') || isFsError(e, 'ENOTDIR')) return undefined;
    throw e;
  }
}

/**
 * Before a write replaces the key's current object in a versioned bucket: the current object
 * is kept as a noncurrent version (Enabled; Suspended only when it has an id of its own — the
 * null version is the one a suspended write replaces), and with versioning Suspended the kept
 * null version goes too. Returns the attributes the new object is linked with: its new id, or
 * none ("null").
 */
export async function retireForWrite(
  env: S3Env,
  status: VersioningStatus,
  cred: Credential,
  bucketIno: bigint,
  kp: KeyPath,
  parentIno: bigint,
): Promise<{ versionId: string; xattrs: Record<string, Buffer | undefined>; kept?: bigint }> {
  checkVersionableKey(kp);
  const current = await currentIn(env, cred, parentIno, kp.name);
  const kept = await retire(env, status, bucketIno, kp, current);
  const versionId = status === 'Suspended' ? NULL_VERSION : newVersionId();
  const xattrs = { [VERSION_ID_XATTR]: status === 'Suspended' ? undefined : Buffer.from(versionId) };
  return { versionId, xattrs, ...(kept === undefined ? {} : { kept }) };
}

async function retire(
  env: S3Env,
  status: VersioningStatus,
  bucketIno: bigint,
  kp: KeyPath,
  current: Attributes | undefined,
): Promise<bigint | undefined> {
  const { ns, versions } = env;
  let kept: bigint | undefined;
  if (current) {
    const xattrs = await ns.listXattrs(current.ino);
    const id = versionIdOf(xattrs);
    if (status === 'Enabled' || id !== NULL_VERSION) {
      await versions.keep(bucketIno, kp, current, id, await objectEtag(ns, current, xattrs));
      kept = current.ino;
    }
  }
  if (status === 'Suspended') {
    const old = await versions.find(bucketIno, kp, NULL_VERSION);
    if (old && old.attrs.ino !== current?.ino) await versions.drop(bucketIno, kp, NULL_VERSION);
  }
  return kept;
}

/**
 * Makes the object a write or delete just replaced read-only as the version it now is
 * (VersionStore.freeze). The write or delete is done either way: a failure here is logged.
 */
export async function freezeKept(env: S3Env, ino: bigint, key: string): Promise<void> {
  await env.versions.freeze(ino).catch((e: unknown) => {
    env.log.warn({ err: e, key, ino: String(ino) }, 'S3 kept version not made read-only');
  });
}

export interface VersionedDelete {
  /** The id of the version deleted or of the delete marker made. */
  versionId: string;
  /** A delete marker was made (a DELETE without a version), or the version deleted was one. */
  marker: boolean;
}

/**
 * DELETE of a key (no version) in a versioned bucket: the current object, if any, becomes a
 * noncurrent version and a delete marker becomes the key's latest version — nothing is lost.
 * With `expect` (a lifecycle sweep), only while the current object is the one examined.
 * Undefined when `expect` no longer holds.
 */
export async function deleteVersioned(
  env: S3Env,
  status: VersioningStatus,
  cred: Credential,
  bucketIno: bigint,
  key: string,
  kp: KeyPath,
  expect?: RemoveExpectation,
): Promise<VersionedDelete | undefined> {
  const { ns, versions } = env;
  checkVersionableKey(kp);
  return await versions.locked(bucketIno, key, async () => {
    const parent = await parentDir(env, cred, bucketIno, kp);
    let current = parent && (await currentIn(env, cred, parent.ino, kp.name));
    // An SMB client caching the object writes it back and gives it up before it is kept.
    const recall = current && ns.caching.recall(current.ino);
    if (recall) {
      await recall;
      current = parent && (await currentIn(env, cred, parent.ino, kp.name));
    }
    if (expect && (current?.ino !== expect.ino || current.changeId !== expect.changeId)) return undefined;
    // Refused before anything is kept or marked: the caller must be able to delete here.
    if ((await ns.access(cred, parent?.ino ?? bucketIno, 3)) !== 3)
      throw new S3Error('AccessDenied', 'Access Denied');
    const retired = await retire(env, status, bucketIno, kp, current);
    const versionId = status === 'Enabled' ? newVersionId() : NULL_VERSION;
    await versions.addMarker(bucketIno, kp, versionId, cred);
    if (parent && current) {
      // Keeping it moved its change id; the object removed is still the one kept (the same inode).
      const kept = await ns.getattr(current.ino);
      try {
        await ns.remove(cred, parent.ino, kp.name, { ino: kept.ino, changeId: kept.changeId });
      } catch (e) {
        if (isFsError(e, 'ENOENT')) return { versionId, marker: true };
        // Replaced or written meanwhile (NFS, SMB): it stays current, and the marker goes again.
        await versions.drop(bucketIno, kp, versionId).catch(() => {});
        if (expect && isFsError(e, 'ESTALE')) return undefined;
        throw asS3Error(e);
      }
      if (retired !== undefined) await freezeKept(env, retired, key);
      await pruneEmptyParents(env, cred, bucketIno, kp.dirs);
    }
    return { versionId, marker: true };
  });
}

/**
 * DELETE of one version (`?versionId=`), for good: the current object's, or a kept version or
 * delete marker. When the key's latest version goes, the newest one left becomes current again
 * (a kept object moves back into the bucket; a marker leaves the key deleted). Needs write
 * permission on the bucket's directory. A version under Object Lock is refused (AccessDenied);
 * GOVERNANCE retention yields to `bypass` (the caller may bypass it and asked to). Undefined
 * when there is no such version.
 */
export async function deleteVersion(
  env: S3Env,
  cred: Credential,
  bucket: Attributes,
  key: string,
  kp: KeyPath,
  versionId: string,
  bypass = false,
): Promise<VersionedDelete | undefined> {
  const { ns, versions } = env;
  if ((await ns.access(cred, bucket.ino, 3)) !== 3) throw new S3Error('AccessDenied', 'Access Denied');
  return await versions.locked(bucket.ino, key, async () => {
    const parent = await parentDir(env, cred, bucket.ino, kp);
    const current = parent && (await currentIn(env, cred, parent.ino, kp.name));
    const currentXattrs = current && (await ns.listXattrs(current.ino));
    if (parent && current && currentXattrs && versionIdOf(currentXattrs) === versionId) {
      await unlocked(env, current.ino, currentXattrs, bypass, () =>
        ns.remove(cred, parent.ino, kp.name).catch((e: unknown) => {
          throw asS3Error(e);
        }),
      );
      // Also kept under its id (a write that crashed between keeping and replacing it): gone too.
      if ((await versions.find(bucket.ino, kp, versionId))?.attrs.ino === current.ino)
        await versions.drop(bucket.ino, kp, versionId);
      await restoreNewest(env, cred, bucket.ino, key, kp);
      return { versionId, marker: false };
    }
    const stored = await versions.find(bucket.ino, kp, versionId);
    if (!stored) return undefined;
    const wasLatest = !current && (await versions.versions(bucket.ino, kp))[0]?.versionId === versionId;
    await unlocked(env, stored.attrs.ino, await ns.listXattrs(stored.attrs.ino), bypass, () =>
      versions.drop(bucket.ino, kp, versionId),
    );
    if (wasLatest) await restoreNewest(env, cred, bucket.ino, key, kp);
    else await pruneEmptyParents(env, cred, bucket.ino, kp.dirs);
    return { versionId, marker: stored.marker };
  });
}

/**
 * Runs `remove` on a version's inode unless Object Lock protects it: a legal hold or COMPLIANCE
 * retention always, GOVERNANCE retention unless bypassed — then its hold is lifted first, and
 * put back if the removal fails.
 */
async function unlocked(
  env: S3Env,
  ino: bigint,
  xattrs: ReadonlyMap<string, Buffer>,
  bypass: boolean,
  remove: () => Promise<unknown>,
): Promise<void> {
  const lock = lockStateOf(xattrs);
  const protectedBy = protection(lock, Date.now());
  if (protectedBy === undefined) {
    await remove();
    return;
  }
  if (protectedBy !== 'GOVERNANCE' || !bypass) throw lockedError();
  const held = (await env.ns.getattr(ino)).immutableUntilNs;
  await env.ns.setImmutableUntil(ino, 0n);
  try {
    await remove();
  } catch (e) {
    await env.ns.setImmutableUntil(ino, held).catch(() => {});
    throw e;
  }
  env.log.info(
    { ino: String(ino), retainUntil: new Date(lock.untilMs!).toISOString() },
    'S3 version under GOVERNANCE retention deleted with the bypass',
  );
}

/** The key has no current object: its newest kept version, unless a marker, becomes current. */
async function restoreNewest(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  key: string,
  kp: KeyPath,
): Promise<void> {
  const newest: StoredVersion | undefined = (await env.versions.versions(bucketIno, kp))[0];
  if (!newest || newest.marker) {
    await pruneEmptyParents(env, cred, bucketIno, kp.dirs);
    return;
  }
  let parent: Attributes;
  try {
    parent = await ensureParents(env, cred, bucketIno, kp, key);
    await env.versions.promote(bucketIno, kp, newest, parent.ino);
  } catch (e) {
    // The key's place is a prefix now (objects under `key/`): the version stays kept, listed.
    env.log.warn({ err: e, key }, 'S3 version not made current again: its key is taken');
    return;
  }
  if (newest.etag === undefined) return;
  const now = await env.ns.getattr(newest.attrs.ino);
  const etag = newest.etag.includes('-') ? { multipart: newest.etag } : { md5Hex: newest.etag };
  await env.ns.setXattrs(ROOT, now.ino, etagXattrs(etag, now.changeId), { quiet: true }).catch(() => {});
}
