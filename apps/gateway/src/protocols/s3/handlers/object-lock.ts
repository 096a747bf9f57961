import { type Attributes, KEPT_VERSION_HOLD } from '../../../storage/types.ts';
import type { S3Call, S3Env, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { keyPath } from '../keys.ts';
import {
  encodeObjectLock,
  OBJECT_LOCK_XATTR,
  objectLockOf,
  objectLockXml,
  parseObjectLockConfiguration,
} from '../object-lock/bucket-config.ts';
import {
  checkRetentionChange,
  holdNs,
  lockStateOf,
  lockXattrs,
  missingLockConfiguration,
  type ObjectLockState,
  parseLegalHold,
  parseRetention,
  retentionXml,
} from '../object-lock/retention.ts';
import { findObject } from '../objects.ts';
import { readSmallBody } from '../store-object.ts';
import { versioningOf } from '../versioning/writes.ts';
import { doc, el } from '../xml.ts';
import { bypassGranted } from './delete-object.ts';
import { openedBucket, ownedBucket } from './head-bucket.ts';
import { READ, targetObject, WRITE } from './target-object.ts';

/** GET /bucket?object-lock — ObjectLockConfigurationNotFoundError until enabled. */
export async function getObjectLockConfiguration(call: S3Call): Promise<S3Reply> {
  const bucket = await openedBucket(call);
  const lock = await objectLockOf(call.env, bucket.ino);
  if (!lock) throw new S3Error('ObjectLockConfigurationNotFoundError');
  return { body: doc('ObjectLockConfiguration', objectLockXml(lock)) };
}

/**
 * PUT /bucket?object-lock — enables Object Lock on a bucket whose versioning is Enabled (for
 * good: it is never disabled, and versioning can no longer be suspended), and sets or removes
 * its default retention. The bucket's owner only.
 */
export async function putObjectLockConfiguration(call: S3Call): Promise<S3Reply> {
  const config = parseObjectLockConfiguration(await readSmallBody(call));
  const bucket = await ownedBucket(call);
  if ((await versioningOf(call.env, bucket.ino)) !== 'Enabled')
    throw new S3Error(
      'InvalidBucketState',
      "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
    );
  await call.env.ns.setXattrs(
    call.cred,
    bucket.ino,
    { [OBJECT_LOCK_XATTR]: encodeObjectLock(config) },
    { quiet: true },
  );
  const rule = config.rule;
  const period = rule ? `${rule.mode} ${rule.days ? `${rule.days}d` : `${rule.years}y`}` : 'none';
  call.env.log.info(
    { bucket: call.bucket, defaultRetention: period, by: call.principal?.userName },
    `S3 bucket ${call.bucket}: object lock enabled, default retention ${period}`,
  );
  return { status: 200 };
}

/** The object (or version) a retention or legal-hold request names, in a bucket with Object Lock. */
async function lockedTarget(call: S3Call, mask: number) {
  const target = await targetObject(call, mask);
  if (!(await objectLockOf(call.env, target.bucket.ino))) throw missingLockConfiguration();
  return target;
}

/** GET /bucket/key?retention — NoSuchObjectLockConfiguration when the version has none. */
export async function getObjectRetention(call: S3Call): Promise<S3Reply> {
  const { attrs, headers } = await lockedTarget(call, READ);
  const s = lockStateOf(await call.env.ns.listXattrs(attrs.ino));
  if (s.mode === undefined) throw new S3Error('NoSuchObjectLockConfiguration');
  return { headers, body: doc('Retention', retentionXml(s)) };
}

/**
 * PUT /bucket/key?retention — sets, lengthens or (GOVERNANCE, with the bypass) shortens or
 * removes a version's retention; COMPLIANCE in force only lengthens (checkRetentionChange).
 * Write permission on the object is needed.
 */
export async function putObjectRetention(call: S3Call): Promise<S3Reply> {
  const next = parseRetention(await readSmallBody(call));
  const { attrs, bucket, headers } = await lockedTarget(call, WRITE);
  const bypass = bypassGranted(call, bucket);
  await changeLock(call, bucket, attrs, (current) => {
    checkRetentionChange(current, next, bypass);
    return { ...next, legalHold: current.legalHold };
  });
  const until = next.untilMs === undefined ? 'none' : new Date(next.untilMs).toISOString();
  call.env.log.info(
    {
      bucket: call.bucket,
      key: call.key,
      mode: next.mode ?? 'none',
      retainUntil: until,
      by: call.principal?.userName,
    },
    `S3 object ${call.bucket}/${call.key}: retention ${next.mode ?? 'removed'}${next.mode ? ` until ${until}` : ''}`,
  );
  return { status: 200, headers };
}

/** GET /bucket/key?legal-hold — NoSuchObjectLockConfiguration when never set. */
export async function getObjectLegalHold(call: S3Call): Promise<S3Reply> {
  const { attrs, headers } = await lockedTarget(call, READ);
  const s = lockStateOf(await call.env.ns.listXattrs(attrs.ino));
  if (s.legalHold === undefined) throw new S3Error('NoSuchObjectLockConfiguration');
  return { headers, body: doc('LegalHold', el('Status', s.legalHold)) };
}

/** PUT /bucket/key?legal-hold — ON or OFF; write permission on the object is needed. */
export async function putObjectLegalHold(call: S3Call): Promise<S3Reply> {
  const status = parseLegalHold(await readSmallBody(call));
  const { attrs, bucket, headers } = await lockedTarget(call, WRITE);
  await changeLock(call, bucket, attrs, (current) => ({ ...current, legalHold: status }));
  call.env.log.info(
    { bucket: call.bucket, key: call.key, legalHold: status, by: call.principal?.userName },
    `S3 object ${call.bucket}/${call.key}: legal hold ${status}`,
  );
  return { status: 200, headers };
}

/**
 * Changes a version's Object Lock: its attributes and the namespace's hold in one transaction,
 * one change of the key at a time (as its writes and deletes). A kept (noncurrent) version
 * stays read-only whatever its lock says (KEPT_VERSION_HOLD), a legal hold aside.
 */
async function changeLock(
  call: S3Call,
  bucket: Attributes,
  attrs: Attributes,
  next: (current: ObjectLockState) => ObjectLockState,
): Promise<void> {
  const env: S3Env = call.env;
  await env.versions.locked(bucket.ino, call.key, async () => {
    const s = next(lockStateOf(await env.ns.listXattrs(attrs.ino)));
    const current = await findObject(env, call.cred, bucket.ino, call.key, keyPath(call.key)).then(
      (o) => o.attrs.ino,
      () => undefined,
    );
    const now = await env.ns.getattr(attrs.ino);
    const kept = current !== attrs.ino && now.nlink <= 1n;
    const hold = kept && holdNs(s) < KEPT_VERSION_HOLD ? KEPT_VERSION_HOLD : holdNs(s);
    await env.ns.setImmutableUntil(attrs.ino, hold, lockXattrs(s));
  });
}
