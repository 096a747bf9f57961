import { createHash } from 'node:crypto';

/**
 * SMB 3.1.1 pre-authentication integrity (MS-SMB2 3.2.5.2, 3.3.5.4, 3.3.5.5): a SHA-512 chain,
 * starting from 64 zero bytes, H ← SHA-512(H ‖ message) over every NEGOTIATE request and
 * response, then (per session) every SESSION_SETUP request and every response but the last.
 * A connection's value is cloned into each new session's chain.
 */
export class PreauthHash {
  private hash: Buffer;

  constructor(initial?: Buffer) {
    if (initial !== undefined && initial.length !== 64)
      throw new RangeError(`PreauthHash: a SHA-512 value is 64 bytes, not ${initial.length}`);
    this.hash = initial === undefined ? Buffer.alloc(64) : Buffer.from(initial);
  }

  /** Chains one whole SMB2 message (header and body, as on the wire, without the transport header). */
  update(message: Buffer): void {
    this.hash = createHash('sha512').update(this.hash).update(message).digest();
  }

  value(): Buffer {
    return Buffer.from(this.hash);
  }

  clone(): PreauthHash {
    return new PreauthHash(this.hash);
  }
}
