/**
 * The object checksums S3 clients attach to uploads (x-amz-checksum-<algorithm>, as a request
 * header or an aws-chunked trailer): the value is the base64 of the digest, CRCs as big-endian
 * integers. S3 User Guide, "Checking object integrity".
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32, crc32c } from '@node-rs/crc32';
import { Crc64Nvme } from './crc64nvme.ts';

export { Crc64Nvme, crc64nvme } from './crc64nvme.ts';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Digest length in bytes: a header value must decode to exactly this many. */
export const CHECKSUM_DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
};

export interface Checksum {
  readonly algorithm: ChecksumAlgorithm;
  update(data: Uint8Array): void;
  /** The digest of everything so far; call once, after the last update. */
  digest(): Buffer;
  digestBase64(): string;
}

function be32(n: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(n >>> 0, 0);
  return out;
}

class Crc32Checksum implements Checksum {
  private state = 0;
  constructor(
    readonly algorithm: 'crc32' | 'crc32c',
    private readonly fn: typeof crc32,
  ) {}
  update(data: Uint8Array): void {
    // @node-rs/crc32 continues from a finished CRC passed as the initial state.
    if (data.length > 0) this.state = this.fn(data, this.state);
  }
  digest(): Buffer {
    return be32(this.state);
  }
  digestBase64(): string {
    return this.digest().toString('base64');
  }
}

class Crc64Checksum implements Checksum {
  readonly algorithm = 'crc64nvme';
  private readonly crc = new Crc64Nvme();
  update(data: Uint8Array): void {
    this.crc.update(data);
  }
  digest(): Buffer {
    return this.crc.digest();
  }
  digestBase64(): string {
    return this.digest().toString('base64');
  }
}

class HashChecksum implements Checksum {
  private readonly hash: Hash;
  constructor(readonly algorithm: 'sha1' | 'sha256') {
    this.hash = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
  digestBase64(): string {
    return this.digest().toString('base64');
  }
}

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'crc32':
      return new Crc32Checksum('crc32', crc32);
    case 'crc32c':
      return new Crc32Checksum('crc32c', crc32c);
    case 'crc64nvme':
      return new Crc64Checksum();
    case 'sha1':
    case 'sha256':
      return new HashChecksum(algorithm);
  }
}

const HEADER_PREFIX = 'x-amz-checksum-';

/** `x-amz-checksum-<algorithm>`, the request header and trailer name. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `${HEADER_PREFIX}${algorithm}`;
}

export function isChecksumAlgorithm(s: string): s is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(s);
}

/** The algorithm a (lower-case) header or trailer name carries, or undefined when it is none. */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  if (!name.startsWith(HEADER_PREFIX)) return undefined;
  const algorithm = name.slice(HEADER_PREFIX.length);
  return isChecksumAlgorithm(algorithm) ? algorithm : undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The digest bytes a base64 value carries when it is canonical padded base64 of exactly
 * `length` bytes, else undefined. (Buffer.from(…, 'base64') alone skips invalid characters.)
 */
export function decodeDigest(value: string, length: number): Buffer | undefined {
  if (!BASE64.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === length ? bytes : undefined;
}
