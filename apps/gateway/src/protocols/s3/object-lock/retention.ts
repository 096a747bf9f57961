import type { IncomingHttpHeaders } from 'node:http';
import { IMMUTABLE_FOREVER } from '../../../storage/types.ts';
import type { S3Env } from '../context.ts';
import { S3Error } from '../deps.ts';
import { el, malformed, parseXml, text } from '../xml.ts';
import { defaultUntilMs, LOCK_MODES, type LockMode, objectLockOf } from './bucket-config.ts';

/**
 * One object version's Object Lock, kept in its attributes (a version is one inode, so a kept
 * version keeps them): a retention mode and date, and a legal hold. The namespace's hold
 * (`Attributes.immutableUntilNs`) is what enforces them, for every protocol.
 */
export const LOCK_MODE_XATTR = 's3.lock-mode';
export const LOCK_UNTIL_XATTR = 's3.lock-until';
export const LEGAL_HOLD_XATTR = 's3.legal-hold';

export interface ObjectLockState {
  mode?: LockMode;
  /** Retain-until, ms since the epoch; set with `mode`. */
  untilMs?: number;
  legalHold?: 'ON' | 'OFF';
}

export function lockStateOf(xattrs: ReadonlyMap<string, Buffer>): ObjectLockState {
  const mode = xattrs.get(LOCK_MODE_XATTR)?.toString() as LockMode | undefined;
  const until = xattrs.get(LOCK_UNTIL_XATTR)?.toString();
  const hold = xattrs.get(LEGAL_HOLD_XATTR)?.toString();
  const s: ObjectLockState = {};
  if (mode && until) {
    s.mode = mode;
    s.untilMs = Date.parse(until);
  }
  if (hold === 'ON' || hold === 'OFF') s.legalHold = hold;
  return s;
}

/** The attributes that record a state (undefined values delete). */
export function lockXattrs(s: ObjectLockState): Record<string, Buffer | undefined> {
  const retained = s.mode !== undefined && s.untilMs !== undefined;
  return {
    [LOCK_MODE_XATTR]: retained ? Buffer.from(s.mode!) : undefined,
    [LOCK_UNTIL_XATTR]: retained ? Buffer.from(new Date(s.untilMs!).toISOString()) : undefined,
    [LEGAL_HOLD_XATTR]: s.legalHold ? Buffer.from(s.legalHold) : undefined,
  };
}

/** The namespace hold a state asks for: forever under a legal hold, else the retain-until date. */
export function holdNs(s: ObjectLockState): bigint {
  if (s.legalHold === 'ON') return IMMUTABLE_FOREVER;
  return s.mode !== undefined && s.untilMs !== undefined ? BigInt(s.untilMs) * 1_000_000n : 0n;
}

/** GetObject/HeadObject's Object Lock headers. */
export function lockHeaders(s: ObjectLockState): Record<string, string> {
  const h: Record<string, string> = {};
  if (s.mode !== undefined && s.untilMs !== undefined) {
    h['x-amz-object-lock-mode'] = s.mode;
    h['x-amz-object-lock-retain-until-date'] = new Date(s.untilMs).toISOString();
  }
  if (s.legalHold) h['x-amz-object-lock-legal-hold'] = s.legalHold;
  return h;
}

/** What protects the version from deletion now: a legal hold, or retention in force; undefined: nothing. */
export function protection(s: ObjectLockState, nowMs: number): 'legal hold' | LockMode | undefined {
  if (s.legalHold === 'ON') return 'legal hold';
  if (s.mode !== undefined && s.untilMs !== undefined && s.untilMs > nowMs) return s.mode;
  return undefined;
}

export const lockedError = () =>
  new S3Error('AccessDenied', 'Access Denied because object protected by object lock.');

/** `x-amz-bypass-governance-retention: true`. */
export const bypassAsked = (h: IncomingHttpHeaders): boolean =>
  String(h['x-amz-bypass-governance-retention'] ?? '').toLowerCase() === 'true';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

function parseDate(value: string, argument: string): number {
  const ms = ISO_8601.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms))
    throw new S3Error('InvalidArgument', 'The retain until date must be provided in ISO 8601 format', {
      ArgumentName: argument,
      ArgumentValue: value.slice(0, 64),
    });
  return ms;
}

function futureDate(ms: number, argument: string, value: string): number {
  if (ms <= Date.now())
    throw new S3Error('InvalidArgument', 'The retain until date must be in the future!', {
      ArgumentName: argument,
      ArgumentValue: value.slice(0, 64),
    });
  return ms;
}

function parseMode(value: string, argument: string): LockMode {
  if (!LOCK_MODES.includes(value as LockMode))
    throw new S3Error('InvalidArgument', 'Unknown wormMode directive.', {
      ArgumentName: argument,
      ArgumentValue: value.slice(0, 32),
    });
  return value as LockMode;
}

/** The Object Lock a write's headers ask for (PutObject, CopyObject, CreateMultipartUpload). */
function lockFromHeaders(h: IncomingHttpHeaders): ObjectLockState | undefined {
  const mode = h['x-amz-object-lock-mode'];
  const until = h['x-amz-object-lock-retain-until-date'];
  const hold = h['x-amz-object-lock-legal-hold'];
  if (mode === undefined && until === undefined && hold === undefined) return undefined;
  const s: ObjectLockState = {};
  if ((mode === undefined) !== (until === undefined))
    throw new S3Error(
      'InvalidArgument',
      'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
    );
  if (typeof mode === 'string' && typeof until === 'string') {
    s.mode = parseMode(mode, 'x-amz-object-lock-mode');
    s.untilMs = futureDate(
      parseDate(until, 'x-amz-object-lock-retain-until-date'),
      'x-amz-object-lock-retain-until-date',
      until,
    );
  }
  if (hold !== undefined) {
    if (hold !== 'ON' && hold !== 'OFF')
      throw new S3Error('InvalidArgument', "Legal Hold must be either of 'ON' or 'OFF'", {
        ArgumentName: 'x-amz-object-lock-legal-hold',
        ArgumentValue: String(hold).slice(0, 16),
      });
    s.legalHold = hold;
  }
  return s;
}

export const missingLockConfiguration = () =>
  new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');

/**
 * The Object Lock a new object in the bucket gets: what the request asks for, else the bucket's
 * default retention from now. Asking for one in a bucket without Object Lock is InvalidRequest;
 * checked before the body is read, so a refused write writes nothing.
 */
async function lockForNewObject(
  env: S3Env,
  bucketIno: bigint,
  asked: ObjectLockState | undefined,
): Promise<ObjectLockState | undefined> {
  const bucket = await objectLockOf(env, bucketIno);
  if (!bucket) {
    if (asked) throw missingLockConfiguration();
    return undefined;
  }
  const s: ObjectLockState = { ...asked };
  if (s.mode === undefined && bucket.rule) {
    s.mode = bucket.rule.mode;
    s.untilMs = defaultUntilMs(bucket.rule, Date.now());
  }
  return s.mode === undefined && s.legalHold === undefined ? undefined : s;
}

/**
 * The attributes a new object's Object Lock adds to its metadata (linkObject makes it immutable
 * from them): the request's headers, else the bucket's default retention. Checked before the
 * body is read. A key ending in "/" (a directory here) cannot be locked: asked, it is refused;
 * the default retention passes it by. `integrity`: a PutObject, which must carry Content-MD5 or
 * a checksum with lock headers, as S3 requires.
 */
export async function newObjectLock(
  env: S3Env,
  bucketIno: bigint,
  h: IncomingHttpHeaders,
  opts: { marker?: boolean; integrity?: boolean } = {},
): Promise<Record<string, Buffer>> {
  const asked = lockFromHeaders(h);
  const lock = await lockForNewObject(env, bucketIno, asked);
  if (asked && opts.marker)
    throw new S3Error(
      'InvalidRequest',
      'A key ending in "/" is a directory marker here and cannot be locked.',
    );
  if (asked && opts.integrity) requireIntegrityHeader(h);
  const out: Record<string, Buffer> = {};
  if (!lock || opts.marker) return out;
  for (const [name, value] of Object.entries(lockXattrs(lock))) if (value) out[name] = value;
  return out;
}

/** A PutObject with Object Lock headers must carry Content-MD5 or a checksum, as S3 requires. */
function requireIntegrityHeader(h: IncomingHttpHeaders): void {
  const has =
    h['content-md5'] !== undefined ||
    h['x-amz-sdk-checksum-algorithm'] !== undefined ||
    h['x-amz-trailer'] !== undefined ||
    Object.keys(h).some((k) => k.startsWith('x-amz-checksum-'));
  if (!has)
    throw new S3Error(
      'InvalidRequest',
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    );
}

// ---- the Retention and LegalHold documents ------------------------------------------------------

export function retentionXml(s: ObjectLockState): string {
  return el('Mode', s.mode) + el('RetainUntilDate', new Date(s.untilMs!).toISOString());
}

/** A PutObjectRetention body: Mode and RetainUntilDate, or neither (to remove a retention). */
export function parseRetention(body: string): Pick<ObjectLockState, 'mode' | 'untilMs'> {
  const root = parseXml(body, 'Retention');
  const mode = text(root, 'Mode')?.trim();
  const until = text(root, 'RetainUntilDate')?.trim();
  if ((mode === undefined) !== (until === undefined))
    throw malformed('<Retention> takes both <Mode> and <RetainUntilDate>, or neither');
  if (mode === undefined || until === undefined) return {};
  return {
    mode: parseMode(mode, 'Mode'),
    untilMs: futureDate(parseDate(until, 'RetainUntilDate'), 'RetainUntilDate', until),
  };
}

export function parseLegalHold(body: string): 'ON' | 'OFF' {
  const status = text(parseXml(body, 'LegalHold'), 'Status')?.trim();
  if (status !== 'ON' && status !== 'OFF') throw malformed('<Status> must be ON or OFF');
  return status;
}

/**
 * Whether a retention may become `next`, as S3 decides: COMPLIANCE in force only lengthens (same
 * mode); GOVERNANCE in force may be lengthened or made COMPLIANCE, and shortened or removed only
 * with the bypass; nothing in force may change freely.
 */
export function checkRetentionChange(
  current: ObjectLockState,
  next: Pick<ObjectLockState, 'mode' | 'untilMs'>,
  bypass: boolean,
): void {
  const inForce = protection({ mode: current.mode, untilMs: current.untilMs }, Date.now());
  if (inForce === undefined) return;
  const shorter = next.untilMs === undefined || next.untilMs < current.untilMs!;
  if (inForce === 'COMPLIANCE' && (shorter || next.mode !== 'COMPLIANCE')) throw lockedError();
  if (inForce === 'GOVERNANCE' && shorter && !bypass) throw lockedError();
}
