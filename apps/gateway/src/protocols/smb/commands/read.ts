import { afpStreamOf, readAfpInfo } from '../apple/afp-streams.ts';
import { ACCESS } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { HEADER_SIZE } from '../header.ts';
import type { FileId, Open } from '../open-files.ts';
import { readStream } from '../streams.ts';
import type { Reader } from '../wire/reader.ts';
import { readFileId } from './file-id.ts';

export interface ReadRequest {
  flags: number;
  length: number;
  offset: bigint;
  fileId: FileId;
  minimumCount: number;
  channel: number;
  channelInfoLength: number;
}

export interface ReadResponse {
  data: Buffer;
  /** Gives a pooled read buffer back once the reply is written (see releaseRead). */
  release?: () => void;
}

/** MS-SMB2 §2.2.19. */
export function decodeRead(r: Reader): ReadRequest {
  r.structureSize(49);
  r.skip(1, 'Padding');
  const flags = r.u8('Flags');
  const length = r.u32('Length');
  const offset = r.u64('Offset');
  const fileId = readFileId(r);
  const minimumCount = r.u32('MinimumCount');
  const channel = r.u32('Channel');
  r.skip(4, 'RemainingBytes');
  r.skip(2, 'ReadChannelInfoOffset');
  const channelInfoLength = r.u16('ReadChannelInfoLength');
  return { flags, length, offset, fileId, minimumCount, channel, channelInfoLength };
}

export const readPayload = (req: ReadRequest): number => req.length + req.channelInfoLength;

/** MS-SMB2 §3.3.5.12; SMB locks are mandatory: a read over another open's exclusive lock fails. */
export async function handleRead(ctx: RequestContext, req: ReadRequest): Promise<ReadResponse> {
  const open = ctx.open(req.fileId);
  if (req.length > ctx.conn.maxReadSize)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'Length over MaxReadSize');
  if (req.channel !== 0)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'RDMA channels are not offered');
  if (open.kind === 'pipe') {
    const got = open.pipe!.read(req.length);
    if (got.overflow) ctx.replyStatus(NT_STATUS.STATUS_BUFFER_OVERFLOW);
    return { data: got.data };
  }
  if (open.kind === 'dir') throw new SmbError(NT_STATUS.STATUS_INVALID_DEVICE_REQUEST, 'read on a directory');
  if (!open.hasAny(ACCESS.FILE_READ_DATA | ACCESS.FILE_EXECUTE))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no read access');
  // Offsets are signed 64-bit in the file system (MS-FSA): a range past 2^63 - 1 is invalid.
  if (req.offset + BigInt(req.length) > 0x7fff_ffff_ffff_ffffn)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'range past 2^63');
  if (open.stream !== undefined) return readNamedStream(ctx, open, req);
  if (
    req.length > 0 &&
    ctx.env.ns.locks.conflict(open.ino, req.offset, BigInt(req.length), false, open.lockKey)
  ) {
    throw new SmbError(NT_STATUS.STATUS_FILE_LOCK_CONFLICT, 'range locked by another open');
  }
  const got = await ctx.env.ns.read(ctx.cred(), open.ino, req.offset, req.length, { pooled: true });
  if ((got.data.length === 0 && req.length > 0) || got.data.length < req.minimumCount) {
    got.release?.();
    throw new SmbError(NT_STATUS.STATUS_END_OF_FILE, 'at or past the end of the file');
  }
  open.position = req.offset + BigInt(got.data.length);
  return { data: got.data, release: got.release };
}

/** A named stream's bytes (streams.ts): byte-range locks are not taken on streams. */
async function readNamedStream(ctx: RequestContext, open: Open, req: ReadRequest): Promise<ReadResponse> {
  const data =
    afpStreamOf(open) === 'info'
      ? await readAfpInfo(ctx.env.ns, open.ino, req.offset, req.length)
      : await readStream(ctx.env.ns, open.ino, open.stream!, req.offset, req.length);
  if ((data.length === 0 && req.length > 0) || data.length < req.minimumCount)
    throw new SmbError(NT_STATUS.STATUS_END_OF_FILE, 'at or past the end of the stream');
  open.position = req.offset + BigInt(data.length);
  return { data };
}

export const releaseRead = (res: ReadResponse): void => res.release?.();

/** MS-SMB2 §2.2.20: the data follows the 16-byte body; returned apart so it is never copied. */
export function encodeRead(res: ReadResponse): Buffer[] {
  const head = Buffer.alloc(16);
  head.writeUInt16LE(17, 0);
  head[2] = HEADER_SIZE + 16;
  head.writeUInt32LE(res.data.length, 4);
  return res.data.length > 0 ? [head, res.data] : [head, Buffer.alloc(1)];
}
