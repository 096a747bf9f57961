import { ArrivingMessage, FILL_AS_ARRIVING, owned } from '../../util/arriving.ts';

/**
 * TCP record marking (RFC 5531 §11): each record is one or more fragments, each preceded by
 * a 4-byte header — the top bit marks the last fragment, the low 31 bits give its length.
 */

const LAST_FRAGMENT = 0x8000_0000;
const LENGTH_MASK = 0x7fff_ffff;

/**
 * Largest call record accepted: a 4 MiB WRITE (FSINFO wtmax may be up to 4 MiB) plus room for
 * the RPC header, credential and WRITE3args. Anything announcing more closes the connection.
 */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024 + 64 * 1024;

/** The announced fragments add up to more than the limit: a framing error (close the connection). */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
}

/** Bytes of a record mark (a fragment's header). */
export const RECORD_MARK_BYTES = 4;

/** The header of a single-fragment record of `length` bytes. */
export function recordMark(length: number): Buffer {
  const b = Buffer.allocUnsafe(RECORD_MARK_BYTES);
  b.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0);
  return b;
}

/** Writes the record mark into a message's first RECORD_MARK_BYTES (left free for it): one record. */
export function markRecord(framed: Buffer): Buffer {
  framed.writeUInt32BE((LAST_FRAGMENT | (framed.length - RECORD_MARK_BYTES)) >>> 0, 0);
  return framed;
}

/** Frames a complete message as one record (small messages; replies use util/framed-write.ts). */
export function frameRecord(message: Buffer): Buffer {
  return Buffer.concat([recordMark(message.length), message]);
}

/**
 * Reassembles records from a byte stream. Memory held is bounded by the limit: a fragment
 * header is checked before its body is awaited, so a peer announcing 1 GiB costs 4 bytes.
 * The chunks pushed may be lent (a socket reading into one reused buffer): records returned
 * are copies where they would be views of the last chunk, and `settle` copies what is still
 * held of it before the buffer is reused. A large fragment is filled as its bytes arrive
 * (arriving.ts).
 */
export class RecordDecoder {
  private input: Buffer[] = [];
  private inputBytes = 0;
  /** Fragments of the record being assembled. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** The current fragment's header once read. */
  private fragment: { length: number; last: boolean } | undefined;
  /** The current fragment when large, being filled as it arrives. */
  private arriving: ArrivingMessage | undefined;
  /** The memory of the last chunk pushed, until settled. */
  private lent: ArrayBufferLike | undefined;

  constructor(
    private readonly maxRecordBytes = MAX_RECORD_BYTES,
    /** Buffers for large fragments (filled as they arrive). */
    private readonly allocate: (n: number) => Buffer = Buffer.allocUnsafe,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    // Read straight into the fragment arriving (`readTarget`): its own memory, nothing lent.
    if (this.arriving?.holds(chunk)) {
      this.arriving.fill(chunk);
      return;
    }
    this.lent = chunk.buffer;
    let rest = chunk;
    if (this.arriving) rest = rest.subarray(this.arriving.fill(rest));
    if (rest.length === 0) return;
    this.input.push(rest);
    this.inputBytes += rest.length;
  }

  /** Where the socket's next read may go: the rest of the large fragment arriving (arriving.ts). */
  readTarget(): Buffer | undefined {
    return this.arriving?.readTarget();
  }

  /** The last chunk pushed is about to be reused: whatever is still held of it is copied. */
  settle(): void {
    if (this.lent === undefined) return;
    for (const held of [this.input, this.parts]) {
      for (let i = 0; i < held.length; i++) held[i] = owned(held[i]!, this.lent);
    }
    this.lent = undefined;
  }

  /** Bytes received and not yet returned in a record. */
  get buffered(): number {
    return this.inputBytes + this.partBytes + (this.arriving?.received ?? 0);
  }

  /** True when a partial record (or unread bytes) is pending. */
  get midRecord(): boolean {
    return this.buffered > 0 || this.fragment !== undefined;
  }

  /** The next complete record, or undefined until more bytes arrive. Throws RecordTooLargeError. */
  next(): Buffer | undefined {
    const whole = this.wholeAtFront();
    if (whole !== undefined) return whole;
    for (;;) {
      if (!this.fragment) {
        if (this.inputBytes < 4) return undefined;
        const header = this.take(4).readUInt32BE(0);
        const length = header & LENGTH_MASK;
        if (this.partBytes + length > this.maxRecordBytes) {
          throw new RecordTooLargeError(
            `record of more than ${this.partBytes + length} bytes exceeds the limit of ${this.maxRecordBytes}`,
          );
        }
        this.fragment = { length, last: (header & LAST_FRAGMENT) !== 0 };
      }
      const { length, last } = this.fragment;
      if (this.arriving) {
        if (!this.arriving.complete) return undefined;
        this.parts.push(this.arriving.take());
        this.arriving = undefined;
      } else if (this.inputBytes < length) {
        if (
          length >= FILL_AS_ARRIVING &&
          this.inputBytes >= FILL_AS_ARRIVING &&
          ArrivingMessage.affordable(length)
        ) {
          this.arriving = ArrivingMessage.start(length, this.input, this.allocate);
          this.input = [];
          this.inputBytes = 0;
        }
        return undefined;
      } else if (length > 0) {
        this.parts.push(this.take(length));
      }
      this.partBytes += length;
      this.fragment = undefined;
      if (last) {
        const record =
          this.parts.length === 1
            ? owned(this.parts[0]!, this.lent)
            : Buffer.concat(this.parts, this.partBytes);
        this.parts = [];
        this.partBytes = 0;
        return record;
      }
    }
  }

  /**
   * The common case, taken without the general path's views: a record of one fragment lying
   * whole at the front of the first chunk (a small call in one TCP read).
   */
  private wholeAtFront(): Buffer | undefined {
    if (this.fragment !== undefined || this.arriving !== undefined || this.parts.length > 0) return undefined;
    const first = this.input[0];
    if (first === undefined || first.length < 4) return undefined;
    const header = first.readUInt32BE(0);
    const end = 4 + (header & LENGTH_MASK);
    if ((header & LAST_FRAGMENT) === 0 || first.length < end || end - 4 > this.maxRecordBytes)
      return undefined;
    this.inputBytes -= end;
    if (first.length === end) this.input.shift();
    else this.input[0] = first.subarray(end);
    return owned(first.subarray(4, end), this.lent);
  }

  /** The connection is gone: a fragment half filled gives its reservation back. */
  close(): void {
    this.arriving?.end();
    this.arriving = undefined;
  }

  /** `n` bytes from the input: a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    const first = this.input[0]!;
    this.inputBytes -= n;
    if (first.length >= n) {
      if (first.length === n) this.input.shift();
      else this.input[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.input[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.input.shift();
      else this.input[0] = c.subarray(k);
    }
    return out;
  }
}
