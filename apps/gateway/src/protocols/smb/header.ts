import { FLAGS } from './constants.ts';
import { WireError } from './wire/reader.ts';

export const HEADER_SIZE = 64;
export const SMB2_MAGIC = 0x424d53fe; // "\xFESMB" read little-endian
export const TRANSFORM_MAGIC = 0x424d53fd; // "\xFDSMB"
export const COMPRESSION_MAGIC = 0x424d53fc; // "\xFCSMB"
export const SMB1_MAGIC = 0x424d53ff; // "\xFFSMB"

/** MS-SMB2 §2.2.1: the 64-byte header of every request and response (sync and async forms). */
export interface Smb2Header {
  creditCharge: number;
  /** ChannelSequence/Reserved in requests; Status in responses. */
  status: number;
  command: number;
  /** CreditRequest in requests, CreditResponse in responses. */
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  /** Sync form: Reserved (the client's process id) and TreeId. */
  processId: number;
  treeId: number;
  /** Async form: AsyncId replaces Reserved+TreeId. */
  asyncId: bigint;
  sessionId: bigint;
  signature: Buffer;
}

/** A malformed header or compound chain: a framing error, the connection closes. */
export function decodeHeader(msg: Buffer): Smb2Header {
  if (msg.length < HEADER_SIZE) throw new WireError('SMB2 header', `${msg.length} bytes, needs 64`);
  if (msg.readUInt32LE(0) !== SMB2_MAGIC) throw new WireError('ProtocolId', 'not 0xFE "SMB"');
  const structureSize = msg.readUInt16LE(4);
  if (structureSize !== HEADER_SIZE) throw new WireError('StructureSize', `is ${structureSize}, expected 64`);
  const flags = msg.readUInt32LE(16);
  const async = (flags & FLAGS.ASYNC_COMMAND) !== 0;
  return {
    creditCharge: msg.readUInt16LE(6),
    status: msg.readUInt32LE(8),
    command: msg.readUInt16LE(12),
    credits: msg.readUInt16LE(14),
    flags,
    nextCommand: msg.readUInt32LE(20),
    messageId: msg.readBigUInt64LE(24),
    processId: async ? 0 : msg.readUInt32LE(32),
    treeId: async ? 0 : msg.readUInt32LE(36),
    asyncId: async ? msg.readBigUInt64LE(32) : 0n,
    sessionId: msg.readBigUInt64LE(40),
    signature: msg.subarray(48, 64),
  };
}

export interface ResponseHeader {
  creditCharge: number;
  status: number;
  command: number;
  credits: number;
  flags: number;
  messageId: bigint;
  processId: number;
  treeId: number;
  /** Set for async responses (interim and final). */
  asyncId?: bigint;
  sessionId: bigint;
}

/** Writes a response header into `out` (64 bytes); NextCommand and Signature are left zero. */
export function encodeHeader(h: ResponseHeader, out: Buffer = Buffer.alloc(HEADER_SIZE)): Buffer {
  out.writeUInt32LE(SMB2_MAGIC, 0);
  out.writeUInt16LE(HEADER_SIZE, 4);
  out.writeUInt16LE(h.creditCharge, 6);
  out.writeUInt32LE(h.status >>> 0, 8);
  out.writeUInt16LE(h.command, 12);
  out.writeUInt16LE(h.credits, 14);
  const async = h.asyncId !== undefined;
  out.writeUInt32LE((h.flags | FLAGS.SERVER_TO_REDIR | (async ? FLAGS.ASYNC_COMMAND : 0)) >>> 0, 16);
  out.writeUInt32LE(0, 20);
  out.writeBigUInt64LE(h.messageId, 24);
  if (async) {
    out.writeBigUInt64LE(h.asyncId!, 32);
  } else {
    out.writeUInt32LE(h.processId >>> 0, 32);
    out.writeUInt32LE(h.treeId >>> 0, 36);
  }
  out.writeBigUInt64LE(h.sessionId, 40);
  out.fill(0, 48, 64);
  return out;
}

/**
 * Splits a compound chain (§3.3.5.2.7) into its messages. Each NextCommand must be 8-aligned,
 * at least a header long and inside the frame; the last message runs to the frame's end.
 */
export function splitChain(frame: Buffer, maxMessages = 64): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (;;) {
    if (out.length >= maxMessages)
      throw new WireError('NextCommand', `more than ${maxMessages} compounded requests`);
    if (frame.length - off < HEADER_SIZE)
      throw new WireError('SMB2 header', 'compounded message shorter than a header');
    const next = frame.readUInt32LE(off + 20);
    if (next === 0) {
      out.push(frame.subarray(off));
      return out;
    }
    if (next % 8 !== 0 || next < HEADER_SIZE || off + next > frame.length) {
      throw new WireError('NextCommand', `${next} is not a valid offset to the next compounded request`);
    }
    out.push(frame.subarray(off, off + next));
    off += next;
  }
}
