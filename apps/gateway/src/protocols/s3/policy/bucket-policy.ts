import type { Attributes } from '../../../storage/types.ts';
import { bucketXattrs } from '../bucket-xattrs.ts';
import { header, type S3Call, type S3Env } from '../context.ts';
import { S3Error } from '../deps.ts';
import { actionOf } from './actions.ts';
import { ARN, type BucketPolicy, parsePolicy } from './document.ts';
import { evaluate } from './evaluate.ts';

/**
 * The bucket attribute holding its policy: `{"bucket": NAME, "policy": TEXT}`, the name it was
 * written for (its resources are read with it, so a bucket renamed through NFS or SMB keeps its
 * policy's meaning) and the document as given (GetBucketPolicy answers it back).
 */
export const POLICY_XATTR = 's3.policy';

export interface StoredPolicy {
  bucket: string;
  text: string;
  policy: BucketPolicy;
}

const parsed = new WeakMap<Buffer, StoredPolicy>();

export function encodePolicy(bucket: string, text: string): Buffer {
  return Buffer.from(JSON.stringify({ bucket, policy: text }));
}

/** The policy in a bucket's attributes (parsed once per stored value); undefined when none. */
export function policyIn(xattrs: ReadonlyMap<string, Buffer>): StoredPolicy | undefined {
  const raw = xattrs.get(POLICY_XATTR);
  if (!raw) return undefined;
  let p = parsed.get(raw);
  if (!p) {
    p = readStored(raw);
    parsed.set(raw, p);
  }
  return p;
}

/**
 * A policy stored by an earlier version that this one no longer reads (or a damaged value)
 * denies everything but its owner's own policy calls — closed, not open — until it is put again.
 */
const UNREADABLE: BucketPolicy = {
  statements: [
    {
      sid: 'unreadable-stored-policy',
      effect: 'Deny',
      principals: '*',
      actions: ['s3:*'],
      notActions: false,
      resources: ['*'],
      notResources: false,
      conditions: [],
    },
  ],
};

function readStored(raw: Buffer): StoredPolicy {
  let stored: { bucket?: unknown; policy?: unknown } = {};
  try {
    stored = JSON.parse(raw.toString()) as typeof stored;
    const bucket = String(stored.bucket);
    const text = String(stored.policy);
    return { bucket, text, policy: parsePolicy(text, bucket) };
  } catch {
    return { bucket: String(stored.bucket ?? ''), text: String(stored.policy ?? ''), policy: UNREADABLE };
  }
}

/** The bucket's directory and policy, from the caches when they have them; undefined: no policy. */
async function bucketPolicy(
  env: S3Env,
  bucket: string,
): Promise<{ dir: Attributes; stored: StoredPolicy } | undefined> {
  const found = await bucketXattrs(env, bucket);
  const stored = found && policyIn(found.xattrs);
  return stored && { dir: found.dir, stored };
}

/**
 * True when the bucket's cached attributes (bucket-xattrs.ts) hold no policy: the request path
 * then asks nothing more and waits for nothing (a GET of a small object answers without a turn
 * of the loop).
 */
export function surelyNoPolicy(cachedXattrs: ReadonlyMap<string, Buffer>): boolean {
  return !cachedXattrs.has(POLICY_XATTR);
}

/** Requests that read or change the policy itself: its bucket's owner (and root) always may. */
const POLICY_OPS = new Set([
  'GetBucketPolicy',
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'GetBucketPolicyStatus',
]);

/**
 * Applies `bucket`'s policy to the caller doing `op` on `key`: AccessDenied on an explicit Deny;
 * true when an Allow grants it (what lets an anonymous request in); false when the policy says
 * nothing or there is none.
 */
export async function policyAllows(
  call: S3Call,
  op: string,
  bucket = call.bucket,
  key = call.key,
  versioned = call.query.has('versionId'),
): Promise<boolean> {
  const found = await bucketPolicy(call.env, bucket);
  if (!found) return false;
  const action = actionOf(op, versioned);
  if (!action) return false;
  const { cred } = call;
  if (POLICY_OPS.has(op) && (cred.uid === 0 || cred.uid === found.dir.uid)) return false;
  const { stored } = found;
  const listing = action.name === 's3:listbucket' || action.name === 's3:listbucketversions';
  const decision = evaluate(stored.policy, {
    action: action.name,
    resource: `${ARN}${stored.bucket}${action.object ? `/${key}` : ''}`,
    user: call.principal?.userName,
    sourceIp: call.client.ip,
    secure: call.client.secure,
    referer: header(call.headers, 'referer'),
    userAgent: header(call.headers, 'user-agent'),
    ...(listing ? { prefix: call.query.get('prefix') ?? '' } : {}),
  });
  if (decision?.effect === 'Deny')
    throw new S3Error(
      'AccessDenied',
      `Access Denied: explicit deny in the bucket policy of ${bucket} (statement ${decision.statement})`,
    );
  return decision?.effect === 'Allow';
}

/** Whether anyone may read by the policy without conditions on where they are (PolicyStatus). */
export function isPublic(policy: BucketPolicy): boolean {
  return policy.statements.some(
    (s) =>
      s.effect === 'Allow' && s.principals === '*' && !s.conditions.some((c) => c.key === 'aws:sourceip'),
  );
}
