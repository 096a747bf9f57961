/**
 * Who sent an S3 request: SigV4 by Authorization header or by presigned URL (query
 * parameters), or nobody (anonymous). Verification follows the client's SignedHeaders; the
 * body is verified later, as it streams, by bodyVerifier().
 */
import { S3Error } from '../errors.ts';
import {
  type Credential,
  formatAmzDate,
  headerFail,
  isPresignedQuery,
  parseAmzDate,
  parseAuthorizationHeader,
  parsePresignedQuery,
  queryFail,
  type SignedParts,
  sigV2Refused,
} from './parse.ts';
import { headerValue, ownHeader, payloadModeOf, UNSIGNED_PAYLOAD } from './payload.ts';
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  parseQuery,
  SCOPE_TERMINATOR,
  SERVICE,
  signature,
  signaturesEqual,
  signingKey,
  stringToSign,
} from './sigv4.ts';
import type { AuthResult, PayloadMode, S3RequestHead, SecretLookup } from './types.ts';

export interface AuthenticateOptions {
  /** The region clients must sign for (the credential scope's region). */
  region: string;
  now?: Date;
  /** Largest accepted difference between the request's date and ours; 15 minutes, as S3. */
  maxSkewMs?: number;
}

export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

type Fail = typeof headerFail;

const NO_DATE = 'AWS authentication requires a valid Date or x-amz-date header';

/** The credential scope must name our region, S3, the request's own date and aws4_request. */
function checkScope(credential: Credential, amzDate: string, region: string, fail: Fail): void {
  if (credential.date !== amzDate.slice(0, 8)) {
    fail(
      `Invalid credential date "${credential.date}". Date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  if (credential.region !== region) {
    fail(`the region '${credential.region.slice(0, 64)}' is wrong; expecting '${region}'`, {
      Region: region,
    });
  }
  if (credential.service !== SERVICE) {
    fail(`the service '${credential.service.slice(0, 64)}' is wrong; expecting '${SERVICE}'`);
  }
  if (credential.terminator !== SCOPE_TERMINATOR) {
    fail(
      `the credential scope must end with '${SCOPE_TERMINATOR}', not '${credential.terminator.slice(0, 64)}'`,
    );
  }
}

/**
 * x-amz-* headers in the request that the signature does not cover. S3 refuses them: one could
 * be added to a captured request (within its validity) and change what it does.
 * `exempt`: headers whose value is bound by the signature another way.
 */
function unsignedAmzHeaders(
  headers: S3RequestHead['headers'],
  signed: readonly string[],
  exempt: readonly string[],
): string[] {
  return Object.keys(headers).filter(
    (name) =>
      name.startsWith('x-amz-') &&
      ownHeader(headers, name) !== undefined &&
      !signed.includes(name) &&
      !exempt.includes(name),
  );
}

/**
 * A header value as the client signed it. Node hands header bytes over as latin1 (one char
 * per byte), while clients sign the text the bytes encode, in UTF-8: so a value with bytes
 * above 0x7F that form valid UTF-8 is read as UTF-8. Anything else is taken as it is.
 */
export function signedHeaderText(value: string): string {
  let high = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) return value;
    if (c > 0x7f) high = true;
  }
  if (!high) return value;
  const bytes = Buffer.from(value, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : value;
}

function signedHeaderValues(
  headers: S3RequestHead['headers'],
  signed: readonly string[],
): Record<string, string | string[]> {
  // No prototype: a signed header may be called "__proto__".
  const out: Record<string, string | string[]> = Object.create(null);
  for (const name of signed) {
    const v = ownHeader(headers, name);
    if (v !== undefined) out[name] = typeof v === 'string' ? signedHeaderText(v) : v.map(signedHeaderText);
  }
  return out;
}

function requestDate(headers: S3RequestHead['headers']): { amzDate: string; at: Date } {
  const amz = headerValue(headers, 'x-amz-date');
  if (amz !== undefined) {
    const at = parseAmzDate(amz);
    if (!at) throw new S3Error('AccessDenied', NO_DATE);
    return { amzDate: amz, at };
  }
  const http = headerValue(headers, 'date');
  const t = http === undefined ? Number.NaN : Date.parse(http);
  if (Number.isNaN(t)) throw new S3Error('AccessDenied', NO_DATE);
  const at = new Date(t);
  return { amzDate: formatAmzDate(at), at };
}

interface Verification {
  head: S3RequestHead;
  parts: SignedParts;
  amzDate: string;
  /** The canonical request's last line. */
  payloadHash: string;
  payload: PayloadMode;
  presigned: boolean;
}

async function verify(v: Verification, lookup: SecretLookup): Promise<AuthResult> {
  const { head, parts, amzDate } = v;
  const { credential } = parts;
  const unsigned = unsignedAmzHeaders(
    head.headers,
    parts.signedHeaders,
    // Bound by the signature anyway: the payload hash is the canonical request's last line,
    // the date is in the string to sign.
    v.presigned ? [] : ['x-amz-content-sha256', 'x-amz-date'],
  );
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }

  const owner = await lookup(credential.accessKeyId);
  if (!owner) {
    throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: credential.accessKeyId });
  }
  const { secret, ...principal } = owner;

  const scope = credentialScope(credential.date, credential.region, credential.service);
  const creq = canonicalRequest({
    method: head.method,
    canonicalUri: canonicalUri(head.rawPath),
    canonicalQuery: canonicalQuery(head.rawQuery, v.presigned ? 'X-Amz-Signature' : undefined),
    canonicalHeaders: canonicalHeaders(
      signedHeaderValues(head.headers, parts.signedHeaders),
      parts.signedHeaders,
    ),
    signedHeaders: parts.signedHeaders.join(';'),
    payloadHash: v.payloadHash,
  });
  const sts = stringToSign(amzDate, scope, creq);
  const key = signingKey(secret, credential.date, credential.region, credential.service);
  const expected = signature(key, sts);
  const allSignedPresent = parts.signedHeaders.every((name) => ownHeader(head.headers, name) !== undefined);
  // Both conditions are evaluated before branching, so the comparison runs whatever the headers.
  const matches = signaturesEqual(expected, parts.signature);
  if (!matches || !allSignedPresent) {
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: credential.accessKeyId,
      StringToSign: sts,
      SignatureProvided: parts.signature,
      CanonicalRequest: creq,
    });
  }
  return {
    kind: 'sigv4',
    principal: {
      accessKeyId: principal.accessKeyId,
      userName: principal.userName,
      uid: principal.uid,
      gid: principal.gid,
      gids: principal.gids,
    },
    payload: v.payload,
    presigned: v.presigned,
    signingKey: key,
    seedSignature: parts.signature,
    amzDate,
    scope,
  };
}

const ANONYMOUS: AuthResult = Object.freeze({ kind: 'anonymous' });

/**
 * authenticate()'s answer for a request that names no credentials at all (no Authorization
 * header, no query string: anonymous), known without a wait; undefined for any other.
 */
export function plainlyAnonymous(head: Pick<S3RequestHead, 'headers' | 'rawQuery'>): AuthResult | undefined {
  return head.rawQuery === '' && ownHeader(head.headers, 'authorization') === undefined
    ? ANONYMOUS
    : undefined;
}

/**
 * Authenticates a request's head; throws S3Error. No Authorization header and no X-Amz-*
 * signing parameters → anonymous (the caller decides what anonymous may do).
 */
export async function authenticate(
  head: S3RequestHead,
  lookup: SecretLookup,
  opts: AuthenticateOptions,
): Promise<AuthResult> {
  const now = (opts.now ?? new Date()).getTime();
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const authorization = headerValue(head.headers, 'authorization');
  const params = parseQuery(head.rawQuery);
  const presigned = isPresignedQuery(params);

  if (authorization !== undefined && presigned) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization' },
    );
  }
  if (authorization === undefined && !presigned) {
    if (params.some((p) => p.name === 'AWSAccessKeyId') && params.some((p) => p.name === 'Signature'))
      throw sigV2Refused();
    return ANONYMOUS;
  }

  if (authorization !== undefined) {
    const parts = parseAuthorizationHeader(authorization);
    const { amzDate, at } = requestDate(head.headers);
    checkScope(parts.credential, amzDate, opts.region, headerFail);
    if (!parts.signedHeaders.includes('host')) headerFail('the host header must be signed (SignedHeaders).');
    if (Math.abs(at.getTime() - now) > maxSkewMs) {
      throw new S3Error('RequestTimeTooSkewed', undefined, {
        RequestTime: amzDate,
        ServerTime: new Date(now).toISOString(),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      });
    }
    const claim = headerValue(head.headers, 'x-amz-content-sha256');
    if (claim === undefined) {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    }
    const payload = payloadModeOf(claim, head.headers, true);
    return verify({ head, parts, amzDate, payloadHash: claim, payload, presigned: false }, lookup);
  }

  const parts = parsePresignedQuery(params);
  const at = parseAmzDate(parts.amzDate);
  if (!at) queryFail(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'".`);
  checkScope(parts.credential, parts.amzDate, opts.region, queryFail);
  if (!parts.signedHeaders.includes('host'))
    queryFail('the host header must be signed (X-Amz-SignedHeaders).');
  if (at.getTime() - now > maxSkewMs) throw new S3Error('AccessDenied', 'Request is not valid yet');
  const expiresAt = at.getTime() + parts.expiresSeconds * 1000;
  if (now > expiresAt) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': String(parts.expiresSeconds),
      Expires: new Date(expiresAt).toISOString(),
      ServerTime: new Date(now).toISOString(),
    });
  }
  // S3 signs a presigned URL's payload as UNSIGNED-PAYLOAD unless the URL itself names a hash.
  const claim = parts.contentSha256 ?? headerValue(head.headers, 'x-amz-content-sha256');
  const payload = payloadModeOf(claim, head.headers, false);
  return verify(
    {
      head,
      parts,
      amzDate: parts.amzDate,
      payloadHash: parts.contentSha256 ?? UNSIGNED_PAYLOAD,
      payload,
      presigned: true,
    },
    lookup,
  );
}
