import { copyInto } from './copy-into.ts';
/**
 * Messages read off a socket that reads into one reused buffer (read-buffer-socket.ts), shared
 * by the SMB transport framing and ONC RPC record marking.
 *
 * A message at least FILL_AS_ARRIVING long gets its own buffer once that much of it is in,
 * and the socket then reads the rest straight into that buffer (`readTarget`): the chunks are
 * not held until the message is whole, and its bytes are not copied out of a read buffer.
 */
export const FILL_AS_ARRIVING = 64 * 1024;

/**
 * Bytes of messages taken before they arrived, over every connection of every protocol. A
 * client announcing a large message and sending a little of it makes the server hold all of
 * it; past this budget, messages wait for their bytes in the chunks they came in.
 */
const RESERVE_BUDGET = 256 * 1024 * 1024;
let reserved = 0;

/** A message's unfilled rest smaller than this is read through the socket's own buffer. */
const READ_TARGET_MIN = 16 * 1024;

/** A large message being filled as its bytes arrive. */
export class ArrivingMessage {
  private filled = 0;
  private done = false;

  private constructor(readonly buffer: Buffer) {
    reserved += buffer.length;
  }

  /** Whether a message of `length` bytes may be taken before it arrived (the budget). */
  static affordable(length: number): boolean {
    return reserved + length <= RESERVE_BUDGET;
  }

  /**
   * Starts filling a message of `length` bytes with what has arrived of it (`held`, in order,
   * adding up to less than `length`).
   */
  static start(length: number, held: readonly Buffer[], allocate: (n: number) => Buffer): ArrivingMessage {
    const m = new ArrivingMessage(allocate(length));
    for (const c of held) m.fill(c);
    return m;
  }

  /**
   * Copies in the start of `chunk`; the number of its bytes that belonged to the message. A
   * chunk read straight into the message (`readTarget`) is counted, not copied.
   */
  fill(chunk: Buffer): number {
    const n = Math.min(chunk.length, this.buffer.length - this.filled);
    if (!this.holds(chunk)) copyInto(this.buffer, this.filled, chunk.subarray(0, n));
    this.filled += n;
    return n;
  }

  /** Whether `chunk` was read into the message's own memory, where its next bytes go. */
  holds(chunk: Buffer): boolean {
    return chunk.buffer === this.buffer.buffer && chunk.byteOffset === this.buffer.byteOffset + this.filled;
  }

  /**
   * Where a socket's next read may go (read-buffer-socket.ts): the unfilled rest of the
   * message, so no more than its bytes, or undefined once little is left (the socket's own
   * buffer then takes the tail and whatever follows in one read).
   */
  readTarget(): Buffer | undefined {
    if (this.done || this.buffer.length - this.filled < READ_TARGET_MIN) return undefined;
    return this.buffer.subarray(this.filled);
  }

  get received(): number {
    return this.filled;
  }

  get complete(): boolean {
    return this.filled === this.buffer.length;
  }

  /** The message, whole; its reservation ends. */
  take(): Buffer {
    this.end();
    return this.buffer;
  }

  /** The connection is gone before the message was whole: the reservation ends. */
  end(): void {
    if (this.done) return;
    this.done = true;
    reserved -= this.buffer.length;
  }
}

const SMALL_COPY_BYTES = 4096;

/** `view` itself, or a copy when it lies in `lent` (a read buffer about to be reused). */
export function owned(
  view: Buffer,
  lent: ArrayBufferLike | undefined,
  allocate: (n: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  if (lent === undefined || view.buffer !== lent) return view;
  const out = allocate(view.length);
  // Into shared memory (SMB's frame slabs) natively; into the heap, a small copy by set is
  // 100–150 ns cheaper than fill's (a 128-byte RPC call: ~330 against ~470 ns here).
  if (view.length <= SMALL_COPY_BYTES && !(out.buffer instanceof SharedArrayBuffer)) out.set(view);
  else copyInto(out, 0, view);
  return out;
}
