/** Shared fixtures for the S3 authentication tests. */
import { createHash, createHmac } from 'node:crypto';
import type { Transform } from 'node:stream';
import type { SourceData } from '@smithy/types';
import {
  chunkStringToSign,
  type Principal,
  type S3RequestHead,
  type SecretLookup,
  sha256Hex,
  signature,
} from '../../src/protocols/s3/auth/index.ts';
import { S3Error } from '../../src/protocols/s3/errors.ts';

export { sha256Hex };

/** The example credentials of AWS's S3 signing documentation. */
export const AWS_EXAMPLE = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
/** The example credentials of AWS's SigV4 test suite (service "service", us-east-1). */
export const SUITE = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  amzDate: '20150830T123600Z',
  scope: '20150830/us-east-1/service/aws4_request',
};

export const EXAMPLE_TIME = new Date('2013-05-24T00:00:00Z');

export function principalFor(accessKeyId: string): Principal {
  return { accessKeyId, userName: `user-${accessKeyId}`, uid: 1000, gid: 1000, gids: [1000, 2000] };
}

/** A SecretLookup over a fixed table; counts calls. */
export function lookupOf(secrets: Record<string, string>): SecretLookup & { calls: number } {
  const fn = (async (accessKeyId: string) => {
    fn.calls++;
    const secret = Object.hasOwn(secrets, accessKeyId) ? secrets[accessKeyId] : undefined;
    return secret === undefined ? null : { ...principalFor(accessKeyId), secret };
  }) as SecretLookup & { calls: number };
  fn.calls = 0;
  return fn;
}

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}

/** A SHA-256 / HMAC-SHA256 for @smithy/signature-v4, over node:crypto. */
export class NodeSha256 {
  private hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = createHash('sha256');
  }
}

/** What the S3 clients' escapeUri (@smithy/core) does: encodeURIComponent plus !'()*. */
export function sdkEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface SignableRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers: Record<string, string>;
}

/** The query string a client sends for `query` (escapeUri on names and values). */
export function queryString(query: Record<string, string | string[]> | undefined): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${sdkEscape(name)}=${sdkEscape(v)}`);
  }
  return parts.join('&');
}

/** The head the S3 server would see for a request: names lower-cased, values trimmed as node does. */
export function toHead(r: SignableRequest): S3RequestHead {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) headers[name.toLowerCase()] = value.trim();
  return { method: r.method, rawPath: r.path, rawQuery: queryString(r.query), headers };
}

/** Pipes `pieces` through `t`; resolves with what came out and the error it failed with, if any. */
export function runThrough(
  t: Transform,
  pieces: Iterable<Buffer>,
): Promise<{ output: Buffer; error: unknown; ended: boolean }> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    let ended = false;
    let settled = false;
    const settle = (error: unknown) => {
      if (settled) return;
      settled = true;
      resolve({ output: Buffer.concat(out), error, ended });
    };
    t.on('data', (b: Buffer) => out.push(Buffer.from(b)));
    t.on('end', () => {
      ended = true;
      settle(undefined);
    });
    t.on('error', (e) => settle(e));
    (async () => {
      for (const piece of pieces) {
        if (t.destroyed) return;
        if (!t.write(piece)) await new Promise<void>((r) => (t.destroyed ? r() : t.once('drain', () => r())));
      }
      if (!t.destroyed) t.end();
    })();
  });
}

/** Splits `b` into pieces of the given sizes, cycling. */
export function* split(b: Buffer, sizes: readonly number[]): Generator<Buffer> {
  let i = 0;
  let k = 0;
  while (i < b.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]!);
    yield b.subarray(i, i + n);
    i += n;
  }
}

export interface ChainSigner {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

/** A STREAMING-AWS4-HMAC-SHA256-PAYLOAD body: each chunk signed on the previous signature, then the 0 chunk. */
export function signedChunkedBody(
  chain: ChainSigner,
  chunks: readonly Buffer[],
  trailerLines = '',
): { body: Buffer; signatures: string[] } {
  let previous = chain.seedSignature;
  const parts: Buffer[] = [];
  const signatures: string[] = [];
  for (const data of [...chunks, Buffer.alloc(0)]) {
    const sig = signature(
      chain.signingKey,
      chunkStringToSign(chain.amzDate, chain.scope, previous, sha256Hex(data)),
    );
    signatures.push(sig);
    parts.push(Buffer.from(`${data.length.toString(16)};chunk-signature=${sig}\r\n`), data);
    if (data.length > 0) parts.push(Buffer.from('\r\n'));
    previous = sig;
  }
  parts.push(Buffer.from(`${trailerLines}\r\n`));
  return { body: Buffer.concat(parts), signatures };
}

/** A STREAMING-UNSIGNED-PAYLOAD-TRAILER body, as the AWS SDK for JavaScript frames it. */
export function unsignedTrailerBody(chunks: readonly Buffer[], trailers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const data of chunks) {
    if (data.length === 0) continue;
    parts.push(Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n'));
  for (const [name, value] of Object.entries(trailers)) parts.push(Buffer.from(`${name}:${value}\r\n`));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** Asserts `e` is an S3Error with `code`; returns it. */
export function s3ErrorWith(e: unknown, code: string): S3Error {
  if (!(e instanceof S3Error))
    throw new Error(
      `expected S3Error ${code}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
  if (e.code !== code) throw new Error(`expected S3Error ${code}, got ${e.code}: ${e.message}`);
  return e;
}

/** Resolves with the S3Error `p` rejects with (asserting its code), or throws when it resolves. */
export async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<S3Error> {
  try {
    await p;
  } catch (e) {
    return s3ErrorWith(e, code);
  }
  throw new Error(`expected rejection with ${code}, but it resolved`);
}
