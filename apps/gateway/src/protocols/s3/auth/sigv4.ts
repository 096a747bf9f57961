/**
 * AWS Signature Version 4, one pure function per step (AWS General Reference, "Create a
 * signed AWS API request"; S3 API Reference, "Signature Calculations for the Authorization
 * Header", "…Multiple Chunks (Chunked Upload)", "…Trailing Headers").
 *
 * S3's rules, which differ from the other services': the path is not normalized ("." and
 * ".." segments and repeated slashes stay) and is encoded once, not twice.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const SERVICE = 's3';
export const SCOPE_TERMINATOR = 'aws4_request';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 §2.3 unreserved characters, which SigV4 never percent-encodes. */
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~')
  UNRESERVED[c.charCodeAt(0)] = 1;

const HEX_UPPER = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** SigV4 UriEncode of raw bytes: unreserved bytes as they are, every other byte as %XX (upper-case hex). */
export function uriEncode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    out +=
      b < 0x80 && UNRESERVED[b] === 1 ? String.fromCharCode(b) : `%${HEX_UPPER[b >> 4]}${HEX_UPPER[b & 15]}`;
  }
  return out;
}

/** RFC 3986 percent-decoding to bytes; `+` is a plus sign, and a `%` not followed by two hex digits is itself. */
export function percentDecode(s: string): Buffer {
  const src = Buffer.from(s, 'utf8');
  if (!src.includes(0x25)) return src;
  const out = Buffer.allocUnsafe(src.length);
  let j = 0;
  for (let i = 0; i < src.length; ) {
    const hi = src[i] === 0x25 ? hexValue(src[i + 1] ?? -1) : -1;
    const lo = hi >= 0 ? hexValue(src[i + 2] ?? -1) : -1;
    if (lo >= 0) {
      out[j++] = (hi << 4) | lo;
      i += 3;
    } else {
      out[j++] = src[i]!;
      i += 1;
    }
  }
  return out.subarray(0, j);
}

/**
 * CanonicalURI for S3: the path exactly as the client encoded it — escapes it sent (%XX)
 * are kept as sent, because S3 signers (the AWS SDKs with uriEscapePath off, botocore, the
 * Java SDK) sign the path they put on the wire — and every other character that is neither
 * unreserved nor `/` is UTF-8 percent-encoded, for clients that send such characters raw
 * (`+`, `*`, `$`, `!`…) but sign them encoded. No normalization: "/a/./b//c" signs as is.
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  let out = '';
  for (let i = 0; i < rawPath.length; ) {
    const c = rawPath.charCodeAt(i);
    if (c === 0x25 && hexValue(rawPath.charCodeAt(i + 1)) >= 0 && hexValue(rawPath.charCodeAt(i + 2)) >= 0) {
      out += rawPath.slice(i, i + 3);
      i += 3;
    } else if (c === 0x2f || (c < 0x80 && UNRESERVED[c] === 1)) {
      out += rawPath[i];
      i += 1;
    } else {
      const ch = String.fromCodePoint(rawPath.codePointAt(i)!);
      out += uriEncode(Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  return out;
}

export interface QueryParam {
  /** Decoded name and value (UTF-8; invalid sequences become U+FFFD). */
  name: string;
  value: string;
}

/** The query string's parameters in order, decoded; `a` and `a=` both have the value "". */
export function parseQuery(rawQuery: string): QueryParam[] {
  const params: QueryParam[] = [];
  if (rawQuery === '') return params;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    params.push({
      name: percentDecode(eq < 0 ? part : part.slice(0, eq)).toString('utf8'),
      value: eq < 0 ? '' : percentDecode(part.slice(eq + 1)).toString('utf8'),
    });
  }
  return params;
}

/**
 * CanonicalQueryString: each parameter's name and value decoded and re-encoded with
 * UriEncode, sorted by encoded name then encoded value (byte order), joined as n=v with `&`;
 * a parameter without a value keeps an empty one ("acl" → "acl="). `omit` names a parameter
 * left out (X-Amz-Signature, for a presigned URL).
 */
export function canonicalQuery(rawQuery: string, omit?: string): string {
  if (rawQuery === '') return '';
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = uriEncode(percentDecode(eq < 0 ? part : part.slice(0, eq)));
    if (name === omit) continue;
    pairs.push([name, eq < 0 ? '' : uriEncode(percentDecode(part.slice(eq + 1)))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/**
 * A header's canonical value: leading and trailing spaces removed, runs of spaces, tabs and
 * line breaks made one space; repeated headers (an array) are each so trimmed and joined by
 * ",". (Node joins most repeated request headers itself, with ", ".)
 */
export function canonicalHeaderValue(value: string | readonly string[]): string {
  const trim = (v: string) => v.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '');
  return typeof value === 'string' ? trim(value) : value.map(trim).join(',');
}

/**
 * CanonicalHeaders: `name:value\n` for each signed header, in the order of `signedHeaders`
 * (which clients sort); a signed header missing from the request (or only inherited, like
 * "constructor") contributes an empty value.
 */
export function canonicalHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  signedHeaders: readonly string[],
): string {
  let out = '';
  for (const name of signedHeaders) {
    const value = Object.hasOwn(headers, name) ? headers[name] : undefined;
    out += `${name}:${canonicalHeaderValue(value ?? '')}\n`;
  }
  return out;
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  /** The canonicalHeaders() block, each line ending in "\n". */
  canonicalHeaders: string;
  /** The signed header names joined by ";", as in the Authorization header. */
  signedHeaders: string;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD / STREAMING-… as the client declared. */
  payloadHash: string;
}

export function canonicalRequest(p: CanonicalRequestParts): string {
  return `${p.method}\n${p.canonicalUri}\n${p.canonicalQuery}\n${p.canonicalHeaders}\n${p.signedHeaders}\n${p.payloadHash}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** "YYYYMMDD/region/service/aws4_request". */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/${SCOPE_TERMINATOR}`;
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequestText)}`;
}

const hmac = (key: Uint8Array | string, data: string): Buffer =>
  createHmac('sha256', key).update(data).digest();

/** Signing keys derived lately: a key signs every request of its day, so each is derived once. */
const signingKeys = new Map<string, Buffer>();
const SIGNING_KEYS_MAX = 1024;

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\0${region}\0${service}\0${secret}`;
  const known = signingKeys.get(id);
  if (known) return known;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), SCOPE_TERMINATOR);
  if (signingKeys.size >= SIGNING_KEYS_MAX) signingKeys.clear();
  signingKeys.set(id, key);
  return key;
}

/** Lower-case hex HMAC-SHA256 of the string to sign. */
export function signature(key: Uint8Array, stringToSignText: string): string {
  return createHmac('sha256', key).update(stringToSignText).digest('hex');
}

/** String to sign of one aws-chunked chunk: it chains on the previous chunk's (or the seed) signature. */
export function chunkStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return `${ALGORITHM}-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/** The trailing headers as signed: `name:value\n` each, names lower-case and sorted, values trimmed. */
export function canonicalTrailer(trailers: ReadonlyArray<readonly [string, string]>): string {
  return [...trailers]
    .map(([name, value]) => [name.toLowerCase(), canonicalHeaderValue(value)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([name, value]) => `${name}:${value}\n`)
    .join('');
}

/** String to sign of the trailer chunk: chains on the final (zero-length) chunk's signature. */
export function trailerStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  trailerSha256Hex: string,
): string {
  return `${ALGORITHM}-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${trailerSha256Hex}`;
}

const SIGNATURE_HEX = /^[0-9a-f]{64}$/;

/**
 * Constant-time equality of two hex signatures. `expected` is ours; `provided` comes from the
 * client and is compared only when it is 64 hex digits (its shape is no secret).
 */
export function signaturesEqual(expected: string, provided: string): boolean {
  const p = provided.toLowerCase();
  if (!SIGNATURE_HEX.test(p) || !SIGNATURE_HEX.test(expected)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(p, 'hex'));
}
