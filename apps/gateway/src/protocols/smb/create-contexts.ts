import type { Attributes } from '../../storage/types.ts';
import { maximalAccess, shareLimit } from './access.ts';
import { answerAapl } from './apple/aapl.ts';
import type { RequestContext } from './context.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { Writer } from './wire/writer.ts';

/** Create context tags this server acts on (MS-SMB2 §2.2.13.2); all others are ignored. */
export const CTX = {
  MAXIMAL_ACCESS: 'MxAc',
  QUERY_ON_DISK_ID: 'QFid',
  EA_BUFFER: 'ExtA',
  DURABLE_REQUEST: 'DHnQ',
  DURABLE_RECONNECT: 'DHnC',
  DURABLE_REQUEST_V2: 'DH2Q',
  DURABLE_RECONNECT_V2: 'DH2C',
  REQUEST_LEASE: 'RqLs',
  TIMEWARP: 'TWrp',
  AAPL: 'AAPL',
  ALLOCATION_SIZE: 'AlSi',
} as const;

export interface CreateContext {
  /** The 4-character tag; other names (GUIDs) as hex. */
  name: string;
  data: Buffer;
}

/**
 * The chain of SMB2_CREATE_CONTEXT structures: each Next 8-aligned and inside the buffer,
 * name and data inside their context. A malformed chain is STATUS_INVALID_PARAMETER.
 */
export function decodeCreateContexts(buf: Buffer): CreateContext[] {
  const out: CreateContext[] = [];
  const bad = (why: string) => new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `create context: ${why}`);
  let off = 0;
  while (buf.length > 0) {
    if (out.length >= 64) throw bad('more than 64 contexts');
    if (buf.length - off < 16) throw bad('shorter than its header');
    const next = buf.readUInt32LE(off);
    const nameOffset = buf.readUInt16LE(off + 4);
    const nameLength = buf.readUInt16LE(off + 6);
    const dataOffset = buf.readUInt16LE(off + 10);
    const dataLength = buf.readUInt32LE(off + 12);
    const end = next === 0 ? buf.length : off + next;
    if (next !== 0 && (next % 8 !== 0 || end > buf.length || next < 16)) throw bad('bad Next');
    // Tags are at least 4 bytes (MS-SMB2 §2.2.13.2); shorter ones are malformed.
    if (nameLength < 4 || nameOffset < 16 || off + nameOffset + nameLength > end) throw bad('bad name');
    if (dataLength > 0 && (dataOffset < 16 || off + dataOffset + dataLength > end)) throw bad('bad data');
    const raw = buf.subarray(off + nameOffset, off + nameOffset + nameLength);
    const name = nameLength === 4 ? raw.toString('latin1') : raw.toString('hex');
    out.push({
      name,
      data: dataLength > 0 ? buf.subarray(off + dataOffset, off + dataOffset + dataLength) : Buffer.alloc(0),
    });
    if (next === 0) break;
    off = end;
  }
  return out;
}

/** The response's create contexts, chained and 8-aligned. */
export function encodeCreateContexts(list: readonly CreateContext[]): Buffer {
  const w = new Writer(128);
  let prevNextAt = -1;
  for (const c of list) {
    w.align(8);
    const start = w.length;
    if (prevNextAt >= 0) w.at(prevNextAt).u32(start - prevNextAt);
    prevNextAt = start;
    const name = Buffer.from(c.name, 'latin1');
    w.u32(0)
      .u16(16)
      .u16(name.length)
      .u16(0)
      .u16(c.data.length ? 24 : 0)
      .u32(c.data.length);
    w.bytes(name);
    w.align(8);
    w.bytes(c.data);
  }
  return w.finish();
}

/**
 * The contexts a CREATE answers (§3.3.5.9.5, .9, .14): the open's maximal access, the file's
 * on-disk id, and Apple's AAPL; durable and lease contexts are answered where they are granted.
 */
export function answerContexts(
  ctx: RequestContext,
  asked: readonly CreateContext[],
  a: Attributes,
  parent: Attributes | undefined,
): CreateContext[] {
  const out: CreateContext[] = [];
  for (const c of asked) {
    if (c.name === CTX.MAXIMAL_ACCESS) {
      const data = Buffer.alloc(8);
      data.writeUInt32LE(NT_STATUS.STATUS_SUCCESS, 0);
      data.writeUInt32LE(maximalAccess(ctx.cred(), a, parent) & shareLimit(ctx.tree!.share.readOnly), 4);
      out.push({ name: c.name, data });
    } else if (c.name === CTX.QUERY_ON_DISK_ID) {
      const data = Buffer.alloc(32);
      data.writeBigUInt64LE(a.ino, 0);
      data.writeBigUInt64LE(ctx.tree!.rootIno, 8);
      out.push({ name: c.name, data });
    } else if (c.name === CTX.AAPL) {
      const before = ctx.conn.apple;
      const data = answerAapl(c.data, ctx.tree!.share, ctx.conn);
      if (data) out.push({ name: c.name, data });
      if (!before && ctx.conn.apple && ctx.session) ctx.conn.describeSession(ctx.session);
    }
  }
  return out;
}
