import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isFsError } from '../../storage/errors.ts';
import type { Attributes, Credential, RemoveExpectation } from '../../storage/types.ts';
import { modeFor, type OthersAccess } from './acl.ts';
import type { ChecksumAlgorithm } from './checksums/index.ts';
import { etagMatches, preconditionFailed, requestConditions } from './conditions.ts';
import type { S3Call, S3Env } from './context.ts';
import { asS3Error, S3Error } from './deps.ts';
import { etagXattrs, objectEtag } from './etag.ts';
import type { KeyPath } from './keys.ts';
import { DIR_MARKER_XATTR, type ObjectMetadata } from './metadata.ts';
import { holdNs, lockStateOf } from './object-lock/retention.ts';
import { DIR_MODE, ensureParents, pathConflict } from './objects.ts';
import { checksumXattrs } from './stored-checksum.ts';
import { freezeKept, retireForWrite, type VersioningStatus, versioningOf } from './versioning/writes.ts';
import { MAX_XML_BYTES } from './xml.ts';

/** Tries at linking an object whose prefix directories a concurrent DELETE removed meanwhile. */
const LINK_ATTEMPTS = 4;

export interface LinkedObject {
  attrs: Attributes;
  /** The new object's version id in a versioned bucket ("null" while suspended). */
  versionId: string | undefined;
}

/** `x-amz-version-id` for an object written in a versioned bucket. */
export function versionHeader(linked: LinkedObject): Record<string, string> {
  return linked.versionId === undefined ? {} : { 'x-amz-version-id': linked.versionId };
}

/** A written-aside file to link in place as an object. */
export interface ObjectLink {
  bucketIno: bigint;
  key: string;
  kp: KeyPath;
  /** The detached file, as written aside or composed (nothing else has changed it since). */
  file: Attributes;
  metadata: ObjectMetadata;
  etag: Parameters<typeof etagXattrs>[0];
  /** What its `x-amz-acl` gives everyone but its owner (acl.ts); undefined: the defaults. */
  others?: OthersAccess;
  /** The checksums its client sent, verified (stored-checksum.ts). */
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
  /** A conditional write's precondition on the object it replaces (writeCondition). */
  condition?: WriteCondition;
}

/**
 * What a conditional write (PutObject, CopyObject, CompleteMultipartUpload) asks of the key's
 * current object: `If-None-Match: *` that there is none, `If-Match` that its ETag is one of
 * those listed. Checked as the object is linked, so of two writers racing to create a key
 * with `If-None-Match: *` one gets 412 — a lock file taken this way is held by one.
 */
export interface WriteCondition {
  noObject: boolean;
  /** The If-Match list, as sent. */
  etags?: string;
}

/** The request's write precondition, if it has one; If-None-Match takes only `*` (501 otherwise). */
export function writeCondition(h: IncomingHttpHeaders): WriteCondition | undefined {
  const { ifMatch, ifNoneMatch } = requestConditions(h);
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error('NotImplemented', 'If-None-Match on a write takes only "*" (no object by that key).', {
      Header: 'If-None-Match',
    });
  }
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  return { noObject: ifNoneMatch !== undefined, etags: ifMatch };
}

/**
 * A write's precondition checked early: CompleteMultipartUpload's, before its parts are
 * consumed, so a 412 leaves the upload to complete later. linkObject checks it again.
 */
export async function precheckCondition(
  env: S3Env,
  cred: Credential,
  parentIno: bigint,
  kp: KeyPath,
  key: string,
  condition: WriteCondition,
): Promise<void> {
  await checkCondition(env, condition, await fileAt(env, cred, parentIno, kp.name, key));
}

/** A directory marker (a key ending in `/`) is a directory here: not written conditionally. */
export function markerCondition(): S3Error {
  return new S3Error(
    'NotImplemented',
    'A conditional write of a key ending in "/" (a directory marker) is not supported.',
    {
      Header: 'If-None-Match / If-Match',
    },
  );
}

/**
 * Checks a write's precondition against the object it would replace; answers how the link may
 * replace it: not at all (false: nothing may hold the name), or only that object unchanged.
 */
async function checkCondition(
  env: S3Env,
  c: WriteCondition,
  replaced: Attributes | undefined,
): Promise<false | RemoveExpectation> {
  if (c.noObject && replaced) throw preconditionFailed('If-None-Match');
  if (c.etags === undefined) return false;
  if (!replaced) throw new S3Error('NoSuchKey', 'The specified key does not exist.');
  const etag = await objectEtag(env.ns, replaced, await env.ns.listXattrs(replaced.ino));
  if (!etagMatches(c.etags, etag)) throw preconditionFailed('If-Match');
  return { ino: replaced.ino, changeId: replaced.changeId };
}

/**
 * Puts a written-aside (detached, durable) file in place as the object `key`: the key's
 * directories are created, metadata and ETag recorded on the still invisible file, then one
 * atomic link replaces whatever object had the key. Readers see the old object or the new
 * one, never a mix. In a versioned bucket the object replaced is kept as a noncurrent version
 * first (versioning/writes.ts), one write of a key at a time. On any failure the detached
 * file is removed.
 */
export async function linkObject(env: S3Env, cred: Credential, o: ObjectLink): Promise<LinkedObject> {
  try {
    const status = await versioningOf(env, o.bucketIno);
    const link = () => linkInPlace(env, cred, o, status);
    return status ? await env.versions.locked(o.bucketIno, o.key, link) : await link();
  } catch (e) {
    await env.ns.removeDetached(o.file.ino).catch(() => {});
    throw asS3Error(e);
  }
}

async function linkInPlace(
  env: S3Env,
  cred: Credential,
  { bucketIno, key, kp, file, metadata, etag, others, checksums, condition }: ObjectLink,
  status: VersioningStatus | undefined,
): Promise<LinkedObject> {
  const { ns } = env;
  const ino = file.ino;
  const hold = holdNs(lockStateOf(new Map(Object.entries(metadata))));
  let before = file;
  let held = false;
  let predicted = 0n;
  let linked: Attributes | undefined;
  let versionId: string | undefined;
  let kept: bigint | undefined;
  for (let attempt = 1; linked === undefined; attempt++) {
    const parent = await ensureParents(env, cred, bucketIno, kp, key);
    const replaced = await fileAt(env, cred, parent.ino, kp.name, key);
    // Its mode, set while no one can see it (and before a hold would refuse it).
    const mode = modeOnLink(others, file, replaced);
    if (!held && mode !== before.mode) before = await ns.setattr(cred, ino, { mode });
    // Object Lock (its attributes are in the metadata): immutable before anyone can see it.
    if (hold > 0n && !held) {
      await ns.setImmutableUntil(ino, hold);
      held = true;
      before = await ns.getattr(ino);
    }
    // Linking bumps the change id by one (and taking a setgid directory's group by one
    // more): the ETag is recorded for the id the object will have, with the metadata, in the
    // transaction that links it (one commit per PUT).
    predicted = before.changeId + (ns.groupOnLink(parent, before) !== before.gid ? 2n : 1n);
    // SMB clients caching the object being replaced flush and give it up first.
    const recall = replaced && env.ns.caching.recall(replaced.ino);
    if (recall) await recall;
    // A precondition holds until the link: that commit refuses a name taken (or an object
    // changed) since. In a versioned bucket the key's lock holds other S3 writers off, and
    // keeping the replaced object as a version changes it: the link then replaces freely.
    let replace: boolean | RemoveExpectation = true;
    if (condition) replace = await checkCondition(env, condition, replaced);
    if (status && replace !== false) replace = true;
    const version = status && (await retireForWrite(env, status, cred, bucketIno, kp, parent.ino));
    versionId = version?.versionId;
    kept = version ? version.kept : undefined;
    try {
      linked = await ns.linkDetached(cred, ino, parent.ino, kp.name, replace, {
        ...metadata,
        ...etagXattrs(etag, predicted),
        ...checksumXattrs(checksums, predicted),
        ...version?.xattrs,
      });
    } catch (e) {
      if (isFsError(e, 'EISDIR')) throw pathConflict(key, 'a prefix of that name holds other objects');
      // Another writer linked the key first.
      if (replace === false && isFsError(e, 'EEXIST')) throw preconditionFailed('If-None-Match');
      // A DELETE of the prefix's last object removed its directory (S3 has no empty prefixes)
      // between finding it and linking into it: made again, the link goes there. (Under
      // If-Match, the object examined was replaced or removed meanwhile: examined again.)
      const stale = isFsError(e, 'ESTALE') || isFsError(e, 'ENOENT');
      if (attempt < LINK_ATTEMPTS && stale) continue;
      if (typeof replace === 'object' && stale) throw preconditionFailed('If-Match');
      throw e;
    }
  }
  // The object replaced is a kept version now: read-only for the handles still open on it.
  if (kept !== undefined) await freezeKept(env, kept, key);
  if (linked.changeId !== predicted) {
    const recorded = { ...etagXattrs(etag, linked.changeId), ...checksumXattrs(checksums, linked.changeId) };
    await ns.setXattrs(cred, ino, recorded, { quiet: true }).catch(() => {});
  }
  return { attrs: linked, versionId };
}

/**
 * The mode a written object is linked with. An ACL sent with the write decides (acl.ts). Else
 * a file it replaces keeps its permission bits, as an overwrite over NFS or SMB keeps them: a
 * file its owner made private is not widened by an S3 PUT (S3 itself gives a write without an
 * ACL the private one). A new key keeps the mode it was written with (objects are 0644).
 */
function modeOnLink(
  others: OthersAccess | undefined,
  file: Attributes,
  replaced: Attributes | undefined,
): number {
  if (others) return modeFor(others, file);
  // Only the permission bits: no setuid, setgid or sticky bit carries over to a new file.
  if (replaced?.type === 'file') return (file.mode & ~0o777) | (replaced.mode & 0o777);
  return file.mode;
}

/** The file a PUT replaces, if any; a directory there (a prefix) refuses the PUT. */
async function fileAt(
  env: S3Env,
  cred: Credential,
  dir: bigint,
  name: string,
  key: string,
): Promise<Attributes | undefined> {
  try {
    const existing = await env.ns.lookup(cred, dir, name);
    if (existing.type === 'dir') throw pathConflict(key, `"${key}/" is a prefix holding other objects`);
    return existing;
  } catch (e) {
    if (!isFsError(e, 'ENOENT')) throw e;
    return undefined;
  }
}

/** A key ending in `/`: the directory, created if missing, marked as an object. */
export async function storeMarker(
  env: S3Env,
  cred: Credential,
  bucketIno: bigint,
  key: string,
  kp: KeyPath,
  metadata: ObjectMetadata,
): Promise<Attributes> {
  const { ns } = env;
  try {
    const parent = await ensureParents(env, cred, bucketIno, kp, key);
    let dir: Attributes;
    try {
      dir = await ns.mkdir(cred, parent.ino, kp.name, DIR_MODE);
    } catch (e) {
      if (!isFsError(e, 'EEXIST')) throw e;
      dir = await ns.lookup(cred, parent.ino, kp.name);
      if (dir.type !== 'dir') throw pathConflict(key, `"${key.slice(0, -1)}" is an object`);
    }
    await ns.setXattrs(cred, dir.ino, { ...metadata, [DIR_MARKER_XATTR]: Buffer.from('1') });
    return await ns.getattr(dir.ino);
  } catch (e) {
    throw asS3Error(e);
  }
}

/** Passes chunks through while hashing them (copies compute the new object's MD5). */
export async function* hashing(
  source: AsyncIterable<Buffer>,
  hash: Hash = createHash('md5'),
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** A small request body (an XML document) as text; larger than `limit` is refused. */
export async function readSmallBody(call: S3Call, limit = MAX_XML_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of call.body()) {
    n += (chunk as Buffer).length;
    if (n > limit) throw new S3Error('MaxMessageLengthExceeded', 'Your request was too big.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Drains a body that must be empty (a directory marker's). */
export async function requireEmptyBody(call: S3Call, why: string): Promise<void> {
  for await (const chunk of call.body()) {
    if ((chunk as Buffer).length > 0) throw new S3Error('InvalidArgument', why, { ArgumentName: 'key' });
  }
}
