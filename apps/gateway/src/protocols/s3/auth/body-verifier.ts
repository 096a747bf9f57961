/**
 * The request body's verification, as it streams: a Transform the S3 server pipes the raw
 * body through. It outputs the object's bytes (aws-chunked framing removed) and fails — by
 * erroring instead of ending — on anything that does not check out, so a write is committed
 * only after 'end'. Every check is done by then: chunk signatures as each chunk completes,
 * the rest (lengths, trailer signature, x-amz-content-sha256, Content-MD5, checksums) in the
 * final flush, before the stream ends.
 *
 * Memory is bounded whatever the body's size: data passes through as views of the input,
 * hashes are incremental, and only chunk-header and trailer lines are buffered.
 */
import { createHash, type Hash, timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { type HashSession, hashPool, type OffloadedHash } from '../checksums/hash-pool.ts';
import {
  CHECKSUM_DIGEST_BYTES,
  type Checksum,
  type ChecksumAlgorithm,
  checksumAlgorithmOfHeader,
  checksumHeaderName,
  createChecksum,
  decodeDigest,
} from '../checksums/index.ts';
import { S3Error } from '../errors.ts';
import { AwsChunkedDecoder, type AwsChunkSink } from './aws-chunked.ts';
import { headerValue, payloadModeOf } from './payload.ts';
import {
  canonicalTrailer,
  chunkStringToSign,
  sha256Hex,
  signature,
  signaturesEqual,
  trailerStringToSign,
} from './sigv4.ts';
import type { AuthResult, PayloadMode, S3RequestHead } from './types.ts';

type Headers = S3RequestHead['headers'];

const TRAILER_SIGNATURE = 'x-amz-trailer-signature';

/** What the chunk signatures chain on (from a header-signed AuthResult). */
interface ChainStart {
  signingKey: Buffer;
  seedSignature: string;
  amzDate: string;
  scope: string;
}

function checksumHeaders(headers: Headers): Map<ChecksumAlgorithm, Buffer> {
  const out = new Map<ChecksumAlgorithm, Buffer>();
  for (const name of Object.keys(headers)) {
    const algorithm = checksumAlgorithmOfHeader(name);
    const value = headerValue(headers, name);
    if (algorithm === undefined || value === undefined) continue;
    const digest = decodeDigest(value.trim(), CHECKSUM_DIGEST_BYTES[algorithm]);
    if (!digest) throw new S3Error('InvalidRequest', `Value for ${name} header is invalid.`);
    out.set(algorithm, digest);
  }
  return out;
}

/** x-amz-trailer: the checksum trailers the body will end with. */
function announcedTrailers(headers: Headers): ChecksumAlgorithm[] {
  const value = headerValue(headers, 'x-amz-trailer');
  if (value === undefined) {
    throw new S3Error('InvalidRequest', 'A request with a trailing checksum needs the x-amz-trailer header.');
  }
  const out: ChecksumAlgorithm[] = [];
  for (const raw of value.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    const algorithm = checksumAlgorithmOfHeader(name);
    if (algorithm === undefined) {
      throw new S3Error(
        'InvalidRequest',
        `The value specified in the x-amz-trailer header is not supported: ${name.slice(0, 64)}`,
      );
    }
    if (!out.includes(algorithm)) out.push(algorithm);
  }
  if (out.length === 0) throw new S3Error('InvalidRequest', 'The x-amz-trailer header names no trailer.');
  return out;
}

/** Bodies from this size on are hashed on the pool's threads (below, messaging costs more). */
const OFFLOAD_MIN_BYTES = 256 * 1024;

function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function contentLength(headers: Headers): number | undefined {
  const v = headerValue(headers, 'content-length');
  return v !== undefined && /^\d{1,16}$/.test(v) ? Number(v) : undefined;
}

export class S3BodyVerifier extends Transform {
  /** Hex MD5 of the decoded bytes (the ETag of a single-part object); set once the stream has ended. */
  md5Hex = '';
  /** The checksums the client sent (headers or trailers) and that matched: algorithm → base64. */
  checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  /** Decoded bytes passed through so far. */
  bytes = 0;

  private readonly md5: Hash = createHash('md5');
  private readonly sha256: Hash | undefined;
  /** A large body's MD5 (and SHA-256) are computed on the hash pool's threads instead. */
  private readonly offload: HashSession | undefined;
  private readonly hashers = new Map<ChecksumAlgorithm, Checksum>();
  private readonly headerDigests: Map<ChecksumAlgorithm, Buffer>;
  private readonly trailerAlgorithms: ChecksumAlgorithm[];
  private readonly trailers = new Map<string, string>();
  private readonly decoder: AwsChunkedDecoder | undefined;
  private readonly contentMd5: Buffer | undefined;
  private readonly encodedLength: number | undefined;
  private rawBytes = 0;
  /** Signed chunks: the signature the next chunk chains on, and the running chunk's hash and claim. */
  private previousSignature = '';
  private chunkHash: Hash | undefined;
  private chunkClaim: string | undefined;

  constructor(
    readonly mode: PayloadMode,
    headers: Headers,
    private readonly chain: ChainStart | undefined,
  ) {
    super();
    const md5 = headerValue(headers, 'content-md5');
    if (md5 !== undefined) {
      this.contentMd5 = decodeDigest(md5.trim(), 16);
      if (!this.contentMd5) throw new S3Error('InvalidDigest');
    }
    this.headerDigests = checksumHeaders(headers);
    const trailing =
      mode.kind === 'streaming-unsigned-trailer' || (mode.kind === 'streaming-signed' && mode.trailer);
    this.trailerAlgorithms = trailing ? announcedTrailers(headers) : [];
    for (const algorithm of [...this.headerDigests.keys(), ...this.trailerAlgorithms]) {
      if (!this.hashers.has(algorithm)) this.hashers.set(algorithm, createChecksum(algorithm));
    }
    if (mode.kind === 'sha256') this.sha256 = createHash('sha256');
    const declared =
      mode.kind === 'streaming-signed' || mode.kind === 'streaming-unsigned-trailer'
        ? mode.decodedLength
        : contentLength(headers);
    if (declared !== undefined && declared >= OFFLOAD_MIN_BYTES) {
      this.offload = hashPool.session(mode.kind === 'sha256' ? ['md5', 'sha256'] : ['md5']);
    }
    if (mode.kind === 'streaming-signed') {
      if (!chain)
        throw new S3Error(
          'InvalidRequest',
          'Signed chunks need a request signed with the Authorization header.',
        );
      this.previousSignature = chain.seedSignature;
    }
    if (mode.kind === 'streaming-signed' || mode.kind === 'streaming-unsigned-trailer') {
      this.decoder = new AwsChunkedDecoder(this.sink(mode.decodedLength), trailing);
    } else {
      this.encodedLength = contentLength(headers);
    }
  }

  private consume(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.offload) this.offload.update(bytes);
    else {
      this.md5.update(bytes);
      this.sha256?.update(bytes);
    }
    for (const h of this.hashers.values()) h.update(bytes);
    this.bytes += bytes.length;
    this.push(bytes);
  }

  private sink(decodedLength: number): AwsChunkSink {
    const signed = this.mode.kind === 'streaming-signed';
    return {
      chunkHeader: (size, claim) => {
        if (this.bytes + size > decodedLength) {
          throw new S3Error(
            'IncompleteBody',
            'The aws-chunked body is longer than x-amz-decoded-content-length.',
          );
        }
        if (signed) {
          this.chunkClaim = claim;
          this.chunkHash = createHash('sha256');
        }
      },
      data: (bytes) => {
        this.chunkHash?.update(bytes);
        this.consume(bytes);
      },
      chunkEnd: () => {
        if (!signed) return;
        const chain = this.chain!;
        const sts = chunkStringToSign(
          chain.amzDate,
          chain.scope,
          this.previousSignature,
          this.chunkHash!.digest('hex'),
        );
        const claim = this.chunkClaim ?? '';
        if (!signaturesEqual(signature(chain.signingKey, sts), claim)) {
          throw new S3Error('SignatureDoesNotMatch', 'The chunk signature does not match.', {
            StringToSign: sts,
            SignatureProvided: claim.slice(0, 128),
          });
        }
        this.previousSignature = claim.toLowerCase();
      },
      trailer: (name, value) => {
        if (
          name !== TRAILER_SIGNATURE &&
          !this.trailerAlgorithms.some((a) => checksumHeaderName(a) === name)
        ) {
          throw new S3Error(
            'MalformedTrailerError',
            `The trailer ${name.slice(0, 64)} was not announced in x-amz-trailer.`,
          );
        }
        if (this.trailers.has(name))
          throw new S3Error('MalformedTrailerError', `The trailer ${name} is repeated.`);
        this.trailers.set(name, value);
      },
      end: () => {},
    };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.rawBytes += chunk.length;
      if (this.decoder) this.decoder.write(chunk);
      else this.consume(chunk);
    } catch (e) {
      callback(e as Error);
      return;
    }
    // Reading waits while the hash workers are behind (bounded memory, like the socket's own).
    const behind = this.offload?.drained();
    if (behind) behind.then(() => callback());
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    const offloaded = this.offload ? this.offload.digest() : Promise.resolve(undefined);
    offloaded
      .then((digests) => {
        this.finish(digests);
        callback();
      })
      .catch((e: unknown) => callback(e as Error));
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.offload?.cancel();
    callback(error);
  }

  /** Every end-of-body check, in the order their failures are reported. */
  private finish(offloaded?: Map<OffloadedHash, Buffer>): void {
    const mode = this.mode;
    if (this.decoder) {
      this.decoder.finish();
      if (
        (mode.kind === 'streaming-signed' || mode.kind === 'streaming-unsigned-trailer') &&
        this.bytes !== mode.decodedLength
      ) {
        throw new S3Error(
          'IncompleteBody',
          'The decoded body length differs from x-amz-decoded-content-length.',
          {
            ExpectedLength: String(mode.decodedLength),
            ReceivedLength: String(this.bytes),
          },
        );
      }
    } else if (this.encodedLength !== undefined && this.rawBytes !== this.encodedLength) {
      throw new S3Error('IncompleteBody');
    }
    if (mode.kind === 'streaming-signed' && mode.trailer) this.verifyTrailerSignature();
    for (const algorithm of this.trailerAlgorithms) {
      const name = checksumHeaderName(algorithm);
      const value = this.trailers.get(name);
      if (value === undefined)
        throw new S3Error('MalformedTrailerError', `The announced trailer ${name} is missing.`);
      const digest = decodeDigest(value, CHECKSUM_DIGEST_BYTES[algorithm]);
      if (!digest) throw new S3Error('InvalidRequest', `Value for ${name} trailing header is invalid.`);
      if (!this.headerDigests.has(algorithm)) this.headerDigests.set(algorithm, digest);
      else if (!digestsEqual(this.headerDigests.get(algorithm)!, digest)) {
        throw new S3Error('BadDigest', `The ${name} header and trailer differ.`);
      }
    }
    if (this.sha256 && mode.kind === 'sha256') {
      const computed = (offloaded?.get('sha256') ?? this.sha256.digest()).toString('hex');
      if (!digestsEqual(Buffer.from(computed, 'hex'), Buffer.from(mode.expectedHex, 'hex'))) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
          ClientComputedContentSHA256: mode.expectedHex,
          S3ComputedContentSHA256: computed,
        });
      }
    }
    const md5 = offloaded?.get('md5') ?? this.md5.digest();
    if (this.contentMd5 && !digestsEqual(md5, this.contentMd5)) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        ExpectedDigest: this.contentMd5.toString('base64'),
        CalculatedDigest: md5.toString('base64'),
      });
    }
    const verified: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const [algorithm, expected] of this.headerDigests) {
      const computed = this.hashers.get(algorithm)!.digest();
      if (!digestsEqual(computed, expected)) {
        throw new S3Error(
          'BadDigest',
          `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
          {
            [`Checksum${algorithm.toUpperCase()}`]: expected.toString('base64'),
            CalculatedChecksum: computed.toString('base64'),
          },
        );
      }
      verified[algorithm] = computed.toString('base64');
    }
    this.md5Hex = md5.toString('hex');
    this.checksums = verified;
  }

  private verifyTrailerSignature(): void {
    const chain = this.chain!;
    const provided = this.trailers.get(TRAILER_SIGNATURE);
    if (provided === undefined)
      throw new S3Error(
        'MalformedTrailerError',
        'The trailer signature (x-amz-trailer-signature) is missing.',
      );
    const signedTrailers = [...this.trailers].filter(([name]) => name !== TRAILER_SIGNATURE);
    const sts = trailerStringToSign(
      chain.amzDate,
      chain.scope,
      this.previousSignature,
      sha256Hex(canonicalTrailer(signedTrailers)),
    );
    if (!signaturesEqual(signature(chain.signingKey, sts), provided)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature does not match.', {
        StringToSign: sts,
        SignatureProvided: provided.slice(0, 128),
      });
    }
  }
}

/** The verifier itself, with what it exposes once the stream has ended. */
export type BodyVerifier = S3BodyVerifier;

/**
 * The Transform to pipe the raw request body through. Throws S3Error at once (before any
 * body is read) for what the headers alone get wrong: a malformed Content-MD5 (InvalidDigest)
 * or x-amz-checksum-* value, a trailing checksum without x-amz-trailer, or — for an
 * anonymous request — a payload claim that cannot hold.
 */
export function bodyVerifier(auth: AuthResult, headers: Headers): S3BodyVerifier {
  if (auth.kind === 'sigv4')
    return new S3BodyVerifier(auth.payload, headers, auth.presigned ? undefined : auth);
  return new S3BodyVerifier(
    payloadModeOf(headerValue(headers, 'x-amz-content-sha256'), headers, false),
    headers,
    undefined,
  );
}
