import type { IncomingHttpHeaders, OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import { S3Error } from './deps.ts';
import { el } from './xml.ts';

/**
 * Cross-origin requests from browsers (`s3.cors_origins`): one rule for every bucket, as a
 * gateway-wide setting — the listed origins (or `*`) may use these methods with any request
 * headers and read these response headers. A preflight (OPTIONS) is answered without
 * authentication, as S3 answers it; the request that follows is signed as any other.
 */
const CORS_METHODS: readonly string[] = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'];
/** What a page may read of an answer besides the CORS-safelisted headers. */
const EXPOSED: readonly string[] = [
  'ETag',
  'Content-Length',
  'Content-Range',
  'Accept-Ranges',
  'x-amz-request-id',
  'x-amz-version-id',
  'x-amz-delete-marker',
  'x-amz-checksum-crc32',
  'x-amz-checksum-crc32c',
  'x-amz-checksum-crc64nvme',
  'x-amz-checksum-sha1',
  'x-amz-checksum-sha256',
];
const EXPOSED_HEADER = EXPOSED.join(', ');
/** How long a browser may keep a preflight's answer. */
const MAX_AGE_SECONDS = 3600;

/** The `Access-Control-Allow-Origin` an origin gets: `*` under a `*` rule, itself if listed. */
function allowedOrigin(origins: readonly string[], origin: string | undefined): string | undefined {
  if (origin === undefined || origins.length === 0) return undefined;
  if (origins.includes('*')) return '*';
  return origins.includes(origin.toLowerCase()) ? origin : undefined;
}

/** Adds to an answer's header list what a cross-origin caller needs (nothing for others). */
export function addCorsHeaders(
  origins: readonly string[],
  headers: IncomingHttpHeaders,
  list: OutgoingHttpHeader[] | OutgoingHttpHeaders,
): void {
  if (origins.length === 0 || headers.origin === undefined) return;
  const allowed = allowedOrigin(origins, headers.origin);
  const pairs: Array<[string, string]> = [['vary', 'Origin']];
  if (allowed !== undefined)
    pairs.push(['access-control-allow-origin', allowed], ['access-control-expose-headers', EXPOSED_HEADER]);
  for (const [name, value] of pairs) {
    if (Array.isArray(list)) list.push(name, value);
    else list[name] = value;
  }
}

/** A preflight (OPTIONS): the headers of its 200, or the S3 error that refuses it. */
export function preflight(origins: readonly string[], headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const origin = headers.origin;
  const method = headers['access-control-request-method'];
  if (origin === undefined || method === undefined)
    throw new S3Error(
      'InvalidRequest',
      'Insufficient information. Origin and Access-Control-Request-Method request headers needed.',
    );
  if (allowedOrigin(origins, origin) === undefined)
    throw new S3Error(
      'AccessForbidden',
      `CORSResponse: This CORS request is not allowed: ${origin} is not an allowed origin.`,
    );
  if (!CORS_METHODS.includes(method))
    throw new S3Error(
      'AccessForbidden',
      `CORSResponse: This CORS request is not allowed: ${method} is not an allowed method.`,
    );
  const out: OutgoingHttpHeaders = {
    'access-control-allow-methods': CORS_METHODS.join(', '),
    'access-control-max-age': String(MAX_AGE_SECONDS),
  };
  const asked = headers['access-control-request-headers'];
  if (asked !== undefined) out['access-control-allow-headers'] = asked;
  return out;
}

/** GetBucketCors's document for the gateway's rule; undefined when no origin is allowed. */
export function corsConfigurationXml(origins: readonly string[]): string | undefined {
  if (origins.length === 0) return undefined;
  let rule = el('AllowedHeader', '*');
  for (const m of CORS_METHODS) rule += el('AllowedMethod', m);
  for (const o of origins) rule += el('AllowedOrigin', o);
  for (const h of EXPOSED) rule += el('ExposeHeader', h);
  rule += el('MaxAgeSeconds', MAX_AGE_SECONDS);
  return `<CORSRule>${rule}</CORSRule>`;
}
