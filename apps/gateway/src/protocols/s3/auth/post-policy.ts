import { createHmac } from 'node:crypto';
import { S3Error } from '../errors.ts';
import { parseAmzDate, parseCredential } from './parse.ts';
import { ALGORITHM, SCOPE_TERMINATOR, SERVICE, signaturesEqual, signingKey } from './sigv4.ts';
import type { Principal, SecretLookup } from './types.ts';

/**
 * Browser-based uploads (S3's POST Object, "Authenticating Requests in Browser-Based Uploads
 * Using POST (AWS Signature Version 4)"): the form carries a base64 JSON policy and its
 * signature, HMAC-SHA256 of the policy's base64 text under the SigV4 signing key of the
 * credential's scope. The policy's conditions bind every field of the form and the size of the
 * file; its expiration ends it.
 */

/** A condition of the policy, its field name lower-cased without `$`. */
export type PolicyCondition =
  | { op: 'eq' | 'starts-with'; field: string; value: string; text: string }
  | { op: 'content-length-range'; min: number; max: number; text: string };

export interface PostAuth {
  principal: Principal;
  /** content-length-range, when the policy has one: the file's size must fall within it. */
  sizeRange?: { min: number; max: number };
}

/** Fields S3 never asks a condition for. */
const UNCONDITIONED = new Set(['x-amz-signature', 'file', 'policy']);

const denied = (why: string) => new S3Error('AccessDenied', `Invalid according to Policy: ${why}`);
const badPolicy = (why: string) => new S3Error('InvalidPolicyDocument', `Invalid Policy: ${why}`);
const argument = (name: string, message: string) =>
  new S3Error('InvalidArgument', message, { ArgumentName: name });

function parseConditions(raw: unknown): PolicyCondition[] {
  if (!Array.isArray(raw)) throw badPolicy('"conditions" must be an array.');
  return raw.map((c): PolicyCondition => {
    const text = JSON.stringify(c);
    if (Array.isArray(c)) {
      const [op, a, b] = c as unknown[];
      const opName = typeof op === 'string' ? op.toLowerCase() : '';
      if (opName === 'content-length-range') {
        const min = Number(a);
        const max = Number(b);
        if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min)
          throw badPolicy(`content-length-range needs two whole numbers, the smaller first: ${text}`);
        return { op: 'content-length-range', min, max, text };
      }
      if ((opName === 'eq' || opName === 'starts-with') && typeof a === 'string' && typeof b === 'string') {
        if (!a.startsWith('$')) throw badPolicy(`a condition's field must start with $: ${text}`);
        return { op: opName, field: a.slice(1).toLowerCase(), value: b, text };
      }
      throw badPolicy(`unknown condition: ${text}`);
    }
    if (typeof c === 'object' && c !== null) {
      const entries = Object.entries(c as Record<string, unknown>);
      if (entries.length === 1 && typeof entries[0]![1] === 'string')
        return { op: 'eq', field: entries[0]![0].toLowerCase(), value: entries[0]![1], text };
    }
    throw badPolicy(`unknown condition: ${text}`);
  });
}

/**
 * Checks a POST form's policy and signature for `bucket` and answers whose key signed it.
 * `fields` are the form's fields before the file, names lower-cased. Throws what S3 throws:
 * InvalidArgument for a missing or malformed field, InvalidAccessKeyId, SignatureDoesNotMatch,
 * InvalidPolicyDocument, AccessDenied when the policy expired or a condition or field fails.
 */
export async function authenticatePostPolicy(
  fields: ReadonlyMap<string, string>,
  bucket: string,
  lookup: SecretLookup,
  opts: { region: string; now?: Date },
): Promise<PostAuth> {
  const need = (name: string) => {
    const v = fields.get(name);
    if (v === undefined || v === '')
      throw argument(
        name,
        `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
      );
    return v;
  };
  const policyB64 = fields.get('policy');
  if (policyB64 === undefined)
    throw new S3Error('AccessDenied', 'Anonymous POST uploads are not allowed: sign a policy.');
  const algorithm = need('x-amz-algorithm');
  if (algorithm !== ALGORITHM) throw argument('x-amz-algorithm', `Only ${ALGORITHM} is supported.`);
  const fail = (message: string): never => {
    throw argument('x-amz-credential', message);
  };
  const credential = parseCredential(need('x-amz-credential'), fail);
  const amzDate = need('x-amz-date');
  if (!parseAmzDate(amzDate) || amzDate.slice(0, 8) !== credential.date)
    throw argument('x-amz-date', "x-amz-date must be yyyyMMdd'T'HHmmss'Z' on the credential's date.");
  if (credential.region !== opts.region)
    fail(`the region '${credential.region}' is wrong; expecting '${opts.region}'`);
  if (credential.service !== SERVICE || credential.terminator !== SCOPE_TERMINATOR)
    fail(`the credential scope must end in ${SERVICE}/${SCOPE_TERMINATOR}`);
  const provided = need('x-amz-signature');

  const owner = await lookup(credential.accessKeyId);
  if (!owner) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: credential.accessKeyId });
  const key = signingKey(owner.secret, credential.date, credential.region, credential.service);
  const expected = createHmac('sha256', key).update(policyB64).digest('hex');
  if (!signaturesEqual(expected, provided))
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: credential.accessKeyId,
      StringToSign: policyB64,
      SignatureProvided: provided,
    });

  let policy: { expiration?: unknown; conditions?: unknown };
  try {
    policy = JSON.parse(Buffer.from(policyB64, 'base64').toString('utf8')) as typeof policy;
  } catch {
    throw badPolicy('Invalid JSON.');
  }
  if (typeof policy !== 'object' || policy === null) throw badPolicy('Invalid JSON.');
  const expiration = typeof policy.expiration === 'string' ? Date.parse(policy.expiration) : Number.NaN;
  if (!Number.isFinite(expiration))
    throw badPolicy('Policy missing expiration, or it is not an ISO 8601 date.');
  if ((opts.now ?? new Date()).getTime() > expiration) throw denied('Policy expired.');
  const conditions = parseConditions(policy.conditions);

  const fieldValue = (field: string) => (field === 'bucket' ? bucket : fields.get(field));
  const covered = new Set<string>();
  let sizeRange: PostAuth['sizeRange'];
  for (const c of conditions) {
    if (c.op === 'content-length-range') {
      sizeRange = { min: c.min, max: c.max };
      continue;
    }
    covered.add(c.field);
    const v = fieldValue(c.field);
    const ok = v !== undefined && (c.op === 'eq' ? v === c.value : v.startsWith(c.value));
    if (!ok) throw denied(`Policy Condition failed: ${c.text}`);
  }
  const extra = [...fields.keys()].filter(
    (name) => !UNCONDITIONED.has(name) && !name.startsWith('x-ignore-') && !covered.has(name),
  );
  if (extra.length > 0) throw denied(`Extra input fields: ${extra.join(', ')}`);
  const principal: Principal = {
    accessKeyId: owner.accessKeyId,
    userName: owner.userName,
    uid: owner.uid,
    gid: owner.gid,
    gids: owner.gids,
  };
  return { principal, ...(sizeRange ? { sizeRange } : {}) };
}
