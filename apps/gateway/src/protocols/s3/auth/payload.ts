/** x-amz-content-sha256 → PayloadMode (S3 API Reference, "Authenticating Requests: Using the Authorization Header"). */
import { S3Error } from '../errors.ts';
import type { PayloadMode, S3RequestHead } from './types.ts';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const STREAMING_SIGV4A_PREFIX = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD';

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

type Headers = S3RequestHead['headers'];

/**
 * A header's own value (never an inherited property: a client may name "constructor" in
 * SignedHeaders, and node's header object has a prototype).
 */
export function ownHeader(headers: Headers, name: string): string | string[] | undefined {
  return Object.hasOwn(headers, name) ? headers[name] : undefined;
}

/** A header's value; a repeated one (an array) joined with ",", which no single-valued header parses. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const v = ownHeader(headers, name);
  return v === undefined ? undefined : typeof v === 'string' ? v : v.join(',');
}

/** x-amz-decoded-content-length, the object's length inside an aws-chunked body. */
export function decodedContentLength(headers: Headers): number {
  const v = headerValue(headers, 'x-amz-decoded-content-length');
  if (v === undefined) {
    throw new S3Error(
      'MissingContentLength',
      'An aws-chunked upload needs the x-amz-decoded-content-length header.',
    );
  }
  if (!/^\d{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a valid length.', {
      ArgumentName: 'x-amz-decoded-content-length',
      ArgumentValue: v.slice(0, 64),
    });
  }
  return Number(v);
}

/**
 * The payload mode a claim declares. `signedChunks`: whether chunk signatures can be checked
 * (only with Authorization-header SigV4, whose signature seeds the chain).
 */
export function payloadModeOf(
  claim: string | undefined,
  headers: Headers,
  signedChunks: boolean,
): PayloadMode {
  if (claim === undefined) return { kind: 'none' };
  if (claim === UNSIGNED_PAYLOAD) return { kind: 'unsigned' };
  if (SHA256_HEX.test(claim)) return { kind: 'sha256', expectedHex: claim.toLowerCase() };
  if (claim === STREAMING_UNSIGNED_TRAILER) {
    return { kind: 'streaming-unsigned-trailer', decodedLength: decodedContentLength(headers) };
  }
  if (claim === STREAMING_SIGNED || claim === STREAMING_SIGNED_TRAILER) {
    if (!signedChunks) {
      throw new S3Error('InvalidRequest', `${claim} needs a request signed with the Authorization header.`);
    }
    return {
      kind: 'streaming-signed',
      trailer: claim === STREAMING_SIGNED_TRAILER,
      decodedLength: decodedContentLength(headers),
    };
  }
  if (claim.startsWith(STREAMING_SIGV4A_PREFIX)) {
    throw new S3Error('NotImplemented', 'Signature Version 4A chunk signing is not supported.');
  }
  throw new S3Error(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.',
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: claim.slice(0, 128) },
  );
}
