/**
 * Decoders for the two places a SigV4 request carries its authentication: the Authorization
 * header and the X-Amz-* query parameters of a presigned URL. Each either returns a typed
 * value or throws an S3Error naming the field; they throw nothing else.
 */
import { S3Error, type S3ErrorCode } from '../errors.ts';
import { ALGORITHM, type QueryParam } from './sigv4.ts';

export interface Credential {
  accessKeyId: string;
  /** YYYYMMDD */
  date: string;
  region: string;
  service: string;
  terminator: string;
}

export interface SignedParts {
  credential: Credential;
  /** The names as the client listed them (lower-case, `;`-separated in the original). */
  signedHeaders: string[];
  /** Lower-case hex. */
  signature: string;
}

/** Lower-case HTTP field names (RFC 9110 §5.1 token), as SignedHeaders must list them. */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const SIGNATURE = /^[0-9a-fA-F]{64}$/;
const DATE8 = /^\d{8}$/;

type Fail = (message: string, extra?: Record<string, string>) => never;

function failWith(code: S3ErrorCode): Fail {
  return (message, extra) => {
    throw new S3Error(code, message, extra);
  };
}

export const headerFail: Fail = failWith('AuthorizationHeaderMalformed');
export const queryFail: Fail = failWith('AuthorizationQueryParametersError');

/**
 * SigV2, in the Authorization header (`AWS key:signature`) or a query (`AWSAccessKeyId`,
 * `Signature`, `Expires`: aws-cli v1's and s3cmd's presigned URLs): refused with S3's answer
 * in the regions that take SigV4 only.
 */
export function sigV2Refused(): S3Error {
  return new S3Error(
    'InvalidRequest',
    'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
  );
}

/** `AKID/YYYYMMDD/region/service/aws4_request`. */
export function parseCredential(value: string, fail: Fail): Credential {
  const parts = value.split('/');
  if (parts.length !== 5) {
    fail(`the Credential is malformed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (accessKeyId === '') fail('the Credential has an empty access key id.');
  if (!DATE8.test(date)) fail(`the Credential date "${date}" is not in YYYYMMDD format.`);
  if (region === '') fail('the Credential has an empty region.');
  return { accessKeyId, date, region, service, terminator };
}

/** `host;x-amz-date;…`: lower-case names, no duplicates, never empty. */
export function parseSignedHeaders(value: string, fail: Fail): string[] {
  const names = value.split(';');
  const seen = new Set<string>();
  for (const name of names) {
    if (!HEADER_NAME.test(name)) fail(`SignedHeaders lists an invalid header name "${name}".`);
    if (seen.has(name)) fail(`SignedHeaders lists "${name}" twice.`);
    seen.add(name);
  }
  return names;
}

function parseSignature(value: string, fail: Fail): string {
  if (!SIGNATURE.test(value)) fail('the Signature is not 64 hexadecimal digits.');
  return value.toLowerCase();
}

/**
 * `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` (components in any order,
 * separated by commas, optional spaces). Errors: SigV2 ("AWS …") InvalidRequest, SigV4a
 * NotImplemented, any other scheme InvalidArgument, a malformed SigV4 value
 * AuthorizationHeaderMalformed.
 */
export function parseAuthorizationHeader(value: string): SignedParts {
  const trimmed = value.trim();
  const space = trimmed.search(/\s/);
  const scheme = space < 0 ? trimmed : trimmed.slice(0, space);
  if (scheme !== ALGORITHM) {
    if (scheme === 'AWS') throw sigV2Refused();
    if (scheme === 'AWS4-ECDSA-P256-SHA256') {
      throw new S3Error(
        'NotImplemented',
        'Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported; use AWS4-HMAC-SHA256.',
      );
    }
    throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', {
      ArgumentName: 'Authorization',
      ArgumentValue: value.slice(0, 256),
    });
  }
  const fields = new Map<string, string>();
  for (const component of trimmed.slice(space).split(',')) {
    const part = component.trim();
    const eq = part.indexOf('=');
    if (eq <= 0) headerFail(`the authorization header has a malformed component "${part.slice(0, 64)}".`);
    const key = part.slice(0, eq);
    if (key !== 'Credential' && key !== 'SignedHeaders' && key !== 'Signature') {
      headerFail(`the authorization header has an unknown component "${key.slice(0, 64)}".`);
    }
    if (fields.has(key)) headerFail(`the authorization header repeats ${key}.`);
    fields.set(key, part.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    headerFail('the authorization header needs Credential, SignedHeaders and Signature.');
  }
  return {
    credential: parseCredential(credential, headerFail),
    signedHeaders: parseSignedHeaders(signedHeaders, headerFail),
    signature: parseSignature(signature, headerFail),
  };
}

/** S3's ceiling on X-Amz-Expires: seven days. */
export const MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;

export interface PresignedParts extends SignedParts {
  amzDate: string;
  expiresSeconds: number;
  /** X-Amz-Content-Sha256 when the URL carries one. */
  contentSha256: string | undefined;
}

export const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;

/** True when the query asks for query-string (presigned) SigV4 authentication. */
export function isPresignedQuery(params: readonly QueryParam[]): boolean {
  return params.some(
    (p) => p.name === 'X-Amz-Algorithm' || p.name === 'X-Amz-Credential' || p.name === 'X-Amz-Signature',
  );
}

/** The X-Amz-* parameters of a presigned URL (S3 API Reference, "Authenticating Requests: Using Query Parameters"). */
export function parsePresignedQuery(params: readonly QueryParam[]): PresignedParts {
  const found = new Map<string, string>();
  for (const p of params) {
    if (!p.name.startsWith('X-Amz-')) continue;
    if (found.has(p.name)) queryFail(`the query repeats ${p.name}.`);
    found.set(p.name, p.value);
  }
  const missing = PRESIGN_PARAMS.filter((n) => !found.has(n));
  if (missing.length > 0) {
    queryFail(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      { MissingParameters: missing.join(',') },
    );
  }
  const algorithm = found.get('X-Amz-Algorithm')!;
  if (algorithm !== ALGORITHM) {
    queryFail('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".', { ArgumentValue: algorithm.slice(0, 64) });
  }
  const expires = found.get('X-Amz-Expires')!;
  if (!/^\d{1,7}$/.test(expires)) queryFail('X-Amz-Expires should be a number of seconds.');
  const expiresSeconds = Number(expires);
  if (expiresSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) {
    queryFail('X-Amz-Expires must be less than a week (in seconds) that is 604800.');
  }
  return {
    credential: parseCredential(found.get('X-Amz-Credential')!, queryFail),
    signedHeaders: parseSignedHeaders(found.get('X-Amz-SignedHeaders')!, queryFail),
    signature: parseSignature(found.get('X-Amz-Signature')!, queryFail),
    amzDate: found.get('X-Amz-Date')!,
    expiresSeconds,
    contentSha256: found.get('X-Amz-Content-Sha256'),
  };
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** ISO 8601 basic `YYYYMMDDTHHMMSSZ` → Date, or undefined when it is not exactly that or no such instant. */
export function parseAmzDate(value: string): Date | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const date = new Date(t);
  return formatAmzDate(date) === value ? date : undefined;
}

export function formatAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}
