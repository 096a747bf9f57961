import { RELATED_FILE_ID } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { HEADER_SIZE } from '../header.ts';
import { copyChunks, resumeKey } from '../ioctl/copychunk.ts';
import { FSCTL } from '../ioctl/fsctl.ts';
import { networkInterfaces } from '../ioctl/network-interfaces.ts';
import { validateNegotiate } from '../ioctl/validate-negotiate.ts';
import type { FileId } from '../open-files.ts';
import type { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { readFileId } from './file-id.ts';

const IS_FSCTL = 0x0000_0001;

export interface IoctlRequest {
  ctlCode: number;
  fileId: FileId;
  input: Buffer;
  maxInputResponse: number;
  outputCount: number;
  maxOutputResponse: number;
  flags: number;
}

export interface IoctlResponse {
  ctlCode: number;
  fileId: FileId;
  output: Buffer;
}

/** MS-SMB2 §2.2.31. */
export function decodeIoctl(r: Reader): IoctlRequest {
  r.structureSize(57);
  r.skip(2, 'Reserved');
  const ctlCode = r.u32('CtlCode');
  const fileId = readFileId(r);
  const inputOffset = r.u32('InputOffset');
  const inputCount = r.u32('InputCount');
  const maxInputResponse = r.u32('MaxInputResponse');
  r.skip(4, 'OutputOffset');
  const outputCount = r.u32('OutputCount');
  const maxOutputResponse = r.u32('MaxOutputResponse');
  const flags = r.u32('Flags');
  r.skip(4, 'Reserved2');
  const input = r.region(inputOffset, inputCount, 'Input', HEADER_SIZE + 56);
  return { ctlCode, fileId, input, maxInputResponse, outputCount, maxOutputResponse, flags };
}

export const ioctlPayload = (req: IoctlRequest): number =>
  Math.max(req.input.length + req.outputCount, req.maxInputResponse + req.maxOutputResponse);

const noFile = (id: FileId) => id.persistent === RELATED_FILE_ID && id.volatile === RELATED_FILE_ID;

/**
 * MS-SMB2 §3.3.5.15: the FSCTLs a file server must answer; every other one is
 * STATUS_NOT_SUPPORTED, and DFS referrals STATUS_NOT_FOUND (no DFS namespace here, as Samba
 * answers for a share that is no DFS root).
 */
export async function handleIoctl(ctx: RequestContext, req: IoctlRequest): Promise<IoctlResponse> {
  if (req.flags !== IS_FSCTL) throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, 'only FSCTLs are supported');
  if (req.maxOutputResponse > ctx.conn.maxTransactSize || req.input.length > ctx.conn.maxTransactSize)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'IOCTL larger than MaxTransactSize');
  const reply = (output: Buffer): IoctlResponse => ({ ctlCode: req.ctlCode, fileId: req.fileId, output });
  switch (req.ctlCode) {
    case FSCTL.VALIDATE_NEGOTIATE_INFO:
      return reply(validateNegotiate(ctx.conn, ctx.env, req.input, req.maxOutputResponse));
    case FSCTL.QUERY_NETWORK_INTERFACE_INFO: {
      if (!noFile(req.fileId))
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'FileId must be all ones');
      const out = networkInterfaces(ctx.conn.localAddress);
      if (out.length > req.maxOutputResponse)
        throw new SmbError(NT_STATUS.STATUS_BUFFER_TOO_SMALL, 'output buffer too small');
      return reply(out);
    }
    case FSCTL.DFS_GET_REFERRALS:
    case FSCTL.DFS_GET_REFERRALS_EX:
      throw new SmbError(NT_STATUS.STATUS_NOT_FOUND, 'no DFS referrals here');
    case FSCTL.PIPE_TRANSCEIVE: {
      const open = ctx.open(req.fileId);
      if (open.kind !== 'pipe') throw new SmbError(NT_STATUS.STATUS_INVALID_DEVICE_REQUEST, 'not a pipe');
      open.pipe!.write(req.input);
      const got = open.pipe!.read(req.maxOutputResponse);
      if (got.overflow) ctx.replyStatus(NT_STATUS.STATUS_BUFFER_OVERFLOW);
      return reply(got.data);
    }
    case FSCTL.SRV_REQUEST_RESUME_KEY: {
      const open = ctx.open(req.fileId);
      if (open.kind !== 'file')
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'resume keys are for files');
      if (req.maxOutputResponse < 32)
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'MaxOutputResponse below 32');
      return reply(resumeKey(open));
    }
    case FSCTL.SRV_COPYCHUNK:
    case FSCTL.SRV_COPYCHUNK_WRITE: {
      const open = ctx.open(req.fileId);
      if (ctx.tree!.share.readOnly) throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'read-only share');
      return reply(
        await copyChunks(
          ctx,
          open,
          req.input,
          req.maxOutputResponse,
          req.ctlCode === FSCTL.SRV_COPYCHUNK_WRITE,
        ),
      );
    }
    case FSCTL.GET_COMPRESSION: {
      // No compression here: COMPRESSION_FORMAT_NONE.
      const open = ctx.open(req.fileId);
      if (open.kind === 'pipe')
        throw new SmbError(NT_STATUS.STATUS_INVALID_DEVICE_REQUEST, 'a pipe is not compressed');
      if (req.maxOutputResponse < 2)
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'MaxOutputResponse below 2');
      return reply(Buffer.alloc(2));
    }
    case FSCTL.SET_COMPRESSION: {
      const open = ctx.open(req.fileId);
      if (open.kind === 'pipe')
        throw new SmbError(NT_STATUS.STATUS_INVALID_DEVICE_REQUEST, 'a pipe is not compressed');
      if (req.input.length < 2)
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'no compression format');
      // Turning compression off is all there is to do; turning it on is not supported.
      if (req.input.readUInt16LE(0) !== 0) throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, 'compression');
      return reply(Buffer.alloc(0));
    }
    case FSCTL.GET_OBJECT_ID:
    case FSCTL.CREATE_OR_GET_OBJECT_ID: {
      const open = ctx.open(req.fileId);
      if (open.kind === 'pipe')
        throw new SmbError(NT_STATUS.STATUS_INVALID_DEVICE_REQUEST, 'a pipe has no object id');
      if (req.maxOutputResponse < 64)
        throw new SmbError(NT_STATUS.STATUS_BUFFER_TOO_SMALL, 'MaxOutputResponse below 64');
      return reply(objectId(open.ino, ctx.tree!.rootIno));
    }
    default:
      // The handle is checked first: a stale one is STATUS_FILE_CLOSED whatever the control code.
      if (!noFile(req.fileId) || (ctx.hdr.flags & 0x4) !== 0) ctx.open(req.fileId);
      throw new SmbError(
        NT_STATUS.STATUS_NOT_SUPPORTED,
        `FSCTL 0x${req.ctlCode.toString(16)} is not supported`,
      );
  }
}

/** FILE_OBJECTID_BUFFER (MS-FSCC §2.1.3): an object id derived from the inode, stable for its life. */
function objectId(ino: bigint, volume: bigint): Buffer {
  const b = Buffer.alloc(64);
  b.writeBigUInt64LE(ino, 0);
  b.writeBigUInt64LE(volume, 8);
  b.writeBigUInt64LE(volume, 16);
  b.writeBigUInt64LE(ino, 32);
  b.writeBigUInt64LE(volume, 40);
  return b;
}

/** MS-SMB2 §2.2.32. */
export function encodeIoctl(res: IoctlResponse): Buffer {
  const w = new Writer(48 + res.output.length);
  w.u16(49).u16(0).u32(res.ctlCode).u64(res.fileId.persistent).u64(res.fileId.volatile);
  const at = HEADER_SIZE + 48;
  w.u32(at)
    .u32(0)
    .u32(res.output.length ? at : 0)
    .u32(res.output.length)
    .u32(0)
    .u32(0);
  if (res.output.length) w.bytes(res.output);
  else w.u8(0);
  return w.finish();
}
