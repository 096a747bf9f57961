import type { IncomingHttpHeaders } from 'node:http';
import type { Attributes } from '../../storage/types.ts';
import type { S3Call } from './context.ts';
import { S3Error } from './deps.ts';
import { canonicalUserXml, ownerXml } from './handlers/list-args.ts';
import { blockedBy, publicAccessBlockOf } from './public-access-block.ts';
import { el, list, parseXml, text } from './xml.ts';

/**
 * S3 access control lists as this gateway's one model of access reads them: POSIX owner and
 * mode bits (and `s3.public_read_buckets`). An ACL read (GetBucketAcl, GetObjectAcl) says who
 * may do what today — the owner FULL_CONTROL; AuthenticatedUsers (any key holder) READ where
 * "other" may read, WRITE on a bucket "other" may write; AllUsers READ where "other" may read in
 * a public bucket (anonymous requests run as uid 65534, an "other"). An
 * ACL written sets what "other" (and group) may do: `private` (the owner only) or
 * `authenticated-read` as a canned `x-amz-acl`, or a document of the grants an ACL read shows
 * (the owner's FULL_CONTROL; AuthenticatedUsers READ, and WRITE on a bucket; AllUsers READ
 * where the bucket is public already — and there, who reads is everyone or no one). Any other
 * grant is AccessControlListNotSupported (400, not 501: clients retry a 501), naming what gives
 * it here instead; nothing is half applied.
 */

const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/**
 * Where an ACL is read or written: whether anyone may read what "other" may (the bucket is one
 * of s3.public_read_buckets, its public access block not ignoring that) and whether its block
 * refuses public ACLs.
 */
export interface AclContext {
  publicRead: boolean;
  blockPublicAcls: boolean;
}

export async function aclContext(call: S3Call): Promise<AclContext> {
  const block = await publicAccessBlockOf(call.env, call.bucket);
  return {
    publicRead: call.env.config.publicReadBuckets.includes(call.bucket) && !block.IgnorePublicAcls,
    blockPublicAcls: block.BlockPublicAcls,
  };
}

/** What an ACL gives everyone but the owner: read, and (a bucket) write. */
export interface OthersAccess {
  read: boolean;
  write: boolean;
}

const isDir = (a: Pick<Attributes, 'type'>) => a.type === 'dir';
/** "Other" may read: a file's r, a bucket's r and x (list it, reach its objects). */
const othersRead = (a: Attributes) => (isDir(a) ? (a.mode & 0o005) === 0o005 : (a.mode & 0o004) !== 0);
const othersWrite = (a: Attributes) => isDir(a) && (a.mode & 0o003) === 0o003;

function grant(type: 'CanonicalUser' | 'Group', who: string, permission: string): string {
  return `<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="${type}">${who}</Grantee>${el('Permission', permission)}</Grant>`;
}

/** The AccessControlPolicy document's inside for a bucket or object with these attributes. */
export function aclXml(a: Attributes, publicRead: boolean): string {
  let grants = grant('CanonicalUser', canonicalUserXml(a.uid), 'FULL_CONTROL');
  if (othersRead(a)) grants += grant('Group', el('URI', AUTHENTICATED_USERS), 'READ');
  if (othersWrite(a)) grants += grant('Group', el('URI', AUTHENTICATED_USERS), 'WRITE');
  if (publicRead && othersRead(a)) grants += grant('Group', el('URI', ALL_USERS), 'READ');
  return `${ownerXml(a.uid)}<AccessControlList>${grants}</AccessControlList>`;
}

/**
 * The mode an ACL gives: the owner's bits (and setuid, setgid, sticky) kept, group and other
 * the same — read (a bucket: r-x), write on a bucket (-wx) — or nothing.
 */
export function modeFor(others: OthersAccess, a: Pick<Attributes, 'mode' | 'type'>): number {
  let mode = a.mode & 0o7700;
  if (others.read) mode |= isDir(a) ? 0o055 : 0o044;
  if (others.write && isDir(a)) mode |= 0o033;
  return mode;
}

const GRANT_HEADERS = [
  'x-amz-grant-read',
  'x-amz-grant-write',
  'x-amz-grant-read-acp',
  'x-amz-grant-write-acp',
  'x-amz-grant-full-control',
];

function notHere(what: string): S3Error {
  return new S3Error(
    'AccessControlListNotSupported',
    `${what} is not supported: an ACL here is the POSIX mode, private or authenticated-read (anonymous reads are s3.public_read_buckets or a bucket policy; named users and groups get access through the owner, group and mode, over NFS, SMB or ./cfs).`,
  );
}

const CANNED: Readonly<Record<string, OthersAccess>> = {
  private: { read: false, write: false },
  'authenticated-read': { read: true, write: false },
};
const CANNED_ELSEWHERE = [
  'public-read',
  'public-read-write',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
];

function refuseGrantHeaders(headers: IncomingHttpHeaders): void {
  for (const h of GRANT_HEADERS) if (headers[h] !== undefined) throw notHere(`The ${h} header`);
}

/**
 * A canned ACL, checked: private and authenticated-read anywhere, public-read in a public
 * bucket (what its readable objects are already).
 */
export function cannedAcl(value: string, ctx: AclContext): OthersAccess {
  if (value.startsWith('public-read') && ctx.blockPublicAcls)
    throw blockedBy('BlockPublicAcls', `The canned ACL ${value}`);
  if (value === 'public-read' && ctx.publicRead) return { read: true, write: false };
  const known = CANNED[value];
  if (known) return inPublicBucket(known, ctx.publicRead, false);
  if (CANNED_ELSEWHERE.includes(value)) throw notHere(`The canned ACL ${value}`);
  throw new S3Error('InvalidArgument', `${value} is not a canned ACL.`, {
    ArgumentName: 'x-amz-acl',
    ArgumentValue: value.slice(0, 64),
  });
}

/**
 * The ACL a new object (PutObject, CopyObject, POST, CreateMultipartUpload) asks for with
 * `x-amz-acl`; undefined for none — the gateway's defaults (0644) — or for
 * bucket-owner-full-control, which asks nothing of those here: the bucket's owner, like every
 * key holder, may read what "other" may, and no one but the object's owner writes it.
 */
export async function aclOnWrite(
  call: S3Call,
  headers: IncomingHttpHeaders = call.headers,
): Promise<OthersAccess | undefined> {
  refuseGrantHeaders(headers);
  const value = headers['x-amz-acl'];
  if (value === undefined || value === 'bucket-owner-full-control') return undefined;
  return cannedAcl(String(value), await aclContext(call));
}

/**
 * What a PutBucketAcl or PutObjectAcl asks for: `x-amz-acl`, or an AccessControlPolicy body
 * whose grants a mode can hold. The document's Owner must be the one it has.
 */
export function requestedAcl(
  headers: IncomingHttpHeaders,
  body: string,
  a: Attributes,
  ctx: AclContext,
): OthersAccess {
  refuseGrantHeaders(headers);
  const header = headers['x-amz-acl'];
  if (header !== undefined) {
    if (body.trim() !== '')
      throw new S3Error(
        'InvalidRequest',
        'Specify either the x-amz-acl header or an AccessControlPolicy body, not both.',
      );
    return cannedAcl(String(header), ctx);
  }
  if (body.trim() === '')
    throw new S3Error(
      'MalformedACLError',
      'An ACL needs the x-amz-acl header or an AccessControlPolicy body.',
    );
  let root: Record<string, unknown>;
  try {
    root = parseXml(body, 'AccessControlPolicy');
  } catch (e) {
    throw new S3Error('MalformedACLError', (e as Error).message);
  }
  const owner = root.Owner;
  const ownerId =
    owner && typeof owner === 'object' ? text(owner as Record<string, unknown>, 'ID')?.trim() : undefined;
  if (ownerId !== undefined && ownerId !== String(a.uid))
    throw new S3Error(
      'AccessDenied',
      `An ACL's owner is its file's owner (uid ${a.uid}); it cannot be given away.`,
    );
  const acl = root.AccessControlList;
  const grants = acl && typeof acl === 'object' ? list(acl as Record<string, unknown>, 'Grant') : [];
  const others: OthersAccess = { read: false, write: false };
  let ownerFull = false;
  let everyone = false;
  for (const g of grants) {
    const grantee = g.Grantee;
    const permission = text(g, 'Permission')?.trim();
    if (!grantee || typeof grantee !== 'object' || permission === undefined)
      throw new S3Error('MalformedACLError', 'Each <Grant> holds a <Grantee> and a <Permission>.');
    const who = grantee as Record<string, unknown>;
    const id = text(who, 'ID')?.trim();
    const uri = text(who, 'URI')?.trim();
    if (id === String(a.uid) && permission === 'FULL_CONTROL') ownerFull = true;
    else if (uri === AUTHENTICATED_USERS && permission === 'READ') others.read = true;
    else if (uri === AUTHENTICATED_USERS && permission === 'WRITE' && isDir(a)) others.write = true;
    else if (uri === ALL_USERS && ctx.blockPublicAcls)
      throw blockedBy('BlockPublicAcls', 'A grant to AllUsers');
    else if (uri === ALL_USERS && permission === 'READ' && ctx.publicRead) everyone = others.read = true;
    else
      throw notHere(
        `A grant of ${permission} to ${id !== undefined ? `user ${id}` : (uri ?? text(who, 'EmailAddress') ?? 'an unnamed grantee')}`,
      );
  }
  if (!ownerFull) throw notHere('An ACL without its owner’s FULL_CONTROL');
  return inPublicBucket(others, ctx.publicRead, everyone);
}

/**
 * In a public bucket whoever may read is everyone, anonymous callers included: an ACL that
 * lets key holders read but not AllUsers asks for what the gateway cannot give.
 */
function inPublicBucket(others: OthersAccess, publicRead: boolean, everyone: boolean): OthersAccess {
  if (publicRead && others.read && !everyone)
    throw notHere(
      'Letting key holders read without AllUsers in a bucket of s3.public_read_buckets (where anyone reads what they may)',
    );
  return others;
}
