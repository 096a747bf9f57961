import { afpStreamOf, writeAfpInfo } from '../apple/afp-streams.ts';
import { ACCESS } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { HEADER_SIZE } from '../header.ts';
import type { FileId, Open } from '../open-files.ts';
import { breakReadCaching } from '../oplocks.ts';
import { keepChangeTime, keepSetTimes, writeTimeAfterChange } from '../set-times.ts';
import { streamSize, writeStream } from '../streams.ts';
import type { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { readFileId } from './file-id.ts';
import { ownSharedLockConflict } from './lock.ts';

const WRITEFLAG_WRITE_THROUGH = 0x1;
/** Offset meaning "at the end of the file" for an open with only FILE_APPEND_DATA (§3.3.5.13). */
const APPEND_OFFSET = 0xffff_ffff_ffff_ffffn;

export interface WriteRequest {
  offset: bigint;
  fileId: FileId;
  channel: number;
  channelInfoLength: number;
  flags: number;
  data: Buffer;
}

export interface WriteResponse {
  count: number;
}

/** MS-SMB2 §2.2.21. */
export function decodeWrite(r: Reader): WriteRequest {
  r.structureSize(49);
  const dataOffset = r.u16('DataOffset');
  const length = r.u32('Length');
  const offset = r.u64('Offset');
  const fileId = readFileId(r);
  const channel = r.u32('Channel');
  r.skip(4, 'RemainingBytes');
  r.skip(2, 'WriteChannelInfoOffset');
  const channelInfoLength = r.u16('WriteChannelInfoLength');
  const flags = r.u32('Flags');
  const data = r.region(dataOffset, length, 'Data', HEADER_SIZE + 48);
  return { offset, fileId, channel, channelInfoLength, flags, data };
}

export const writePayload = (req: WriteRequest): number => req.data.length + req.channelInfoLength;

/**
 * MS-SMB2 §3.3.5.13. Writes are unstable unless write-through was asked for (the open's option
 * or the request's flag); FLUSH and CLOSE make them durable. A write over any other open's lock
 * fails (SMB locks are mandatory).
 */
export async function handleWrite(ctx: RequestContext, req: WriteRequest): Promise<WriteResponse> {
  const open = ctx.open(req.fileId);
  if (req.data.length > ctx.conn.maxWriteSize)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'Length over MaxWriteSize');
  if (req.channel !== 0)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'RDMA channels are not offered');
  if (open.kind === 'pipe') return { count: open.pipe!.write(req.data) };
  if (open.kind === 'dir')
    throw new SmbError(NT_STATUS.STATUS_INVALID_DEVICE_REQUEST, 'write on a directory');
  const { ns } = ctx.env;
  if (!open.hasAny(ACCESS.FILE_WRITE_DATA | ACCESS.FILE_APPEND_DATA))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no write access');
  if (open.stream !== undefined) return writeToStream(ctx, open, req);
  let offset = req.offset;
  // Appending: the offset of all ones, or any write through an append-only open, goes to EOF.
  if (offset === APPEND_OFFSET || !open.has(ACCESS.FILE_WRITE_DATA))
    offset = (await ns.getattr(open.ino)).size;
  if (offset + BigInt(req.data.length) > 0x7fff_ffff_ffff_ffffn)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'range past 2^63');
  const len = BigInt(req.data.length);
  if (
    len > 0n &&
    (ns.locks.conflict(open.ino, offset, len, true, open.lockKey) || ownSharedLockConflict(open, offset, len))
  ) {
    throw new SmbError(
      NT_STATUS.STATUS_FILE_LOCK_CONFLICT,
      'range locked (another open, or a shared lock of this one)',
    );
  }
  const stable = open.writeThrough || (req.flags & WRITEFLAG_WRITE_THROUGH) !== 0;
  await breakReadCaching(ctx.env, open);
  const writeTime = await writeTimeAfterChange(ctx, open);
  await ns.write(ctx.cred(), open.ino, offset, req.data, stable ? 'file' : 'unstable');
  if (!stable && req.data.length > 0) open.dirty = true;
  await keepSetTimes(ctx, open, writeTime);
  open.position = offset + BigInt(req.data.length);
  return { count: req.data.length };
}

/** Into a named stream (streams.ts), rewritten whole and so stable at once. */
async function writeToStream(ctx: RequestContext, open: Open, req: WriteRequest): Promise<WriteResponse> {
  const { ns } = ctx.env;
  let offset = req.offset;
  if (afpStreamOf(open) === 'info') await writeAfpInfo(ns, ctx.cred(), open.ino, offset, req.data);
  else {
    if (offset === APPEND_OFFSET || !open.has(ACCESS.FILE_WRITE_DATA))
      offset = await streamSize(ns, open.ino, open.stream!);
    await writeStream(ns, ctx.cred(), open.ino, open.stream!, offset, req.data);
  }
  await keepChangeTime(ctx, open);
  open.position = offset + BigInt(req.data.length);
  return { count: req.data.length };
}

/** MS-SMB2 §2.2.22. */
export function encodeWrite(res: WriteResponse): Buffer {
  const w = new Writer(16);
  w.u16(17).u16(0).u32(res.count).u32(0).u16(0).u16(0);
  return w.finish();
}
