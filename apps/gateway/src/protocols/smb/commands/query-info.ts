import { createHash } from 'node:crypto';
import type { Attributes } from '../../../storage/types.ts';
import { listed, openStreamSize } from '../apple/afp-streams.ts';
import { macPathToWire } from '../apple/mac-names.ts';
import { timeMachineStats } from '../apple/time-machine.ts';
import { ACCESS, DIALECT } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { inClusters, smbMeta, streamAttributes } from '../file-meta.ts';
import { nsToFiletime } from '../filetime.ts';
import { HEADER_SIZE } from '../header.ts';
import { encodeFileInfo, FILE_CLASS, FILE_MIN_SIZE, type FileView } from '../info/file-info.ts';
import { encodeFsInfo, FS_MIN_SIZE } from '../info/fs-info.ts';
import { SECINFO, securityDescriptor } from '../info/security.ts';
import type { FileId, Open } from '../open-files.ts';
import { queryQuota } from '../quota.ts';
import type { Reader } from '../wire/reader.ts';
import { readFileId } from './file-id.ts';

export const INFO_TYPE = { FILE: 1, FILESYSTEM: 2, SECURITY: 3, QUOTA: 4 } as const;

/** OWNER, GROUP, DACL and LABEL security information (MS-DTYP §2.4.7). */
const NEEDS_READ_CONTROL = SECINFO.OWNER | SECINFO.GROUP | SECINFO.DACL | 0x10;

export interface QueryInfoRequest {
  infoType: number;
  infoClass: number;
  outputBufferLength: number;
  input: Buffer;
  additionalInformation: number;
  flags: number;
  fileId: FileId;
}

export interface QueryInfoResponse {
  buffer: Buffer;
}

/** MS-SMB2 §2.2.37. */
export function decodeQueryInfo(r: Reader): QueryInfoRequest {
  r.structureSize(41);
  const infoType = r.u8('InfoType');
  const infoClass = r.u8('FileInfoClass');
  const outputBufferLength = r.u32('OutputBufferLength');
  const inputOffset = r.u16('InputBufferOffset');
  r.skip(2, 'Reserved');
  const inputLength = r.u32('InputBufferLength');
  const additionalInformation = r.u32('AdditionalInformation');
  const flags = r.u32('Flags');
  const fileId = readFileId(r);
  const input = r.region(inputOffset, inputLength, 'InputBuffer', HEADER_SIZE + 40);
  return { infoType, infoClass, outputBufferLength, input, additionalInformation, flags, fileId };
}

export const queryInfoPayload = (req: QueryInfoRequest): number =>
  Math.max(req.outputBufferLength, req.input.length);

const NEEDS_READ_ATTRIBUTES: ReadonlySet<number> = new Set([
  FILE_CLASS.BASIC,
  FILE_CLASS.ALL,
  FILE_CLASS.NETWORK_OPEN,
  FILE_CLASS.ATTRIBUTE_TAG,
]);

/** A stable 32-bit volume serial number per share. */
export function volumeSerial(share: string): number {
  return createHash('sha256').update(share.toUpperCase()).digest().readUInt32LE(0);
}

/**
 * MS-SMB2 §3.3.5.20. A buffer below the class's least size is STATUS_INFO_LENGTH_MISMATCH; one
 * that holds that much but not the whole answer gets a prefix with STATUS_BUFFER_OVERFLOW.
 */
export async function handleQueryInfo(
  ctx: RequestContext,
  req: QueryInfoRequest,
): Promise<QueryInfoResponse> {
  const open = ctx.open(req.fileId);
  if (req.outputBufferLength > ctx.conn.maxTransactSize)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'OutputBufferLength');
  if (open.kind === 'pipe') return fit(ctx, pipeInfo(req), req.outputBufferLength, 24);
  switch (req.infoType) {
    case INFO_TYPE.FILE:
      return fit(
        ctx,
        await fileInfo(ctx, open, req),
        req.outputBufferLength,
        FILE_MIN_SIZE[req.infoClass] ?? 0,
      );
    case INFO_TYPE.FILESYSTEM: {
      const share = ctx.tree!.share;
      const root = await ctx.env.ns.getattr(ctx.tree!.rootIno);
      let stats = await ctx.env.ns.statfs(ctx.cred());
      const maxSize = share.apple ? share.timeMachine?.maxSize : undefined;
      if (maxSize !== undefined)
        stats = await timeMachineStats(ctx.env.ns, ctx.cred(), ctx.tree!.rootIno, stats, maxSize);
      const buf = encodeFsInfo(req.infoClass, {
        stats,
        label: share.name,
        serial: volumeSerial(share.name),
        createdFiletime: nsToFiletime(root.btimeNs),
      });
      return fit(ctx, buf, req.outputBufferLength, FS_MIN_SIZE[req.infoClass] ?? 0);
    }
    case INFO_TYPE.SECURITY: {
      // MS-FSA §2.1.5.13: the owner, group, DACL and label need READ_CONTROL; asking for none
      // needs nothing and gets an empty descriptor, as on Windows.
      if (req.additionalInformation & NEEDS_READ_CONTROL && !open.has(ACCESS.READ_CONTROL))
        throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no READ_CONTROL');
      if (req.additionalInformation & SECINFO.SACL && !open.has(ACCESS.ACCESS_SYSTEM_SECURITY))
        throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'SACL needs ACCESS_SYSTEM_SECURITY');
      const nfsAces = open.tree.share.apple && ctx.conn.apple !== undefined;
      const sd = securityDescriptor(await ctx.env.ns.getattr(open.ino), req.additionalInformation, nfsAces);
      if (sd.length > req.outputBufferLength) {
        const need = Buffer.alloc(4);
        need.writeUInt32LE(sd.length);
        throw new SmbError(
          NT_STATUS.STATUS_BUFFER_TOO_SMALL,
          'security descriptor larger than the buffer',
          need,
        );
      }
      return { buffer: sd };
    }
    case INFO_TYPE.QUOTA:
      return { buffer: await queryQuota(ctx, open, req.input, req.outputBufferLength) };
    default:
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `InfoType ${req.infoType}`);
  }
}

function fit(ctx: RequestContext, buf: Buffer, max: number, min: number): QueryInfoResponse {
  if (buf.length <= max) return { buffer: buf };
  if (max < min) throw new SmbError(NT_STATUS.STATUS_INFO_LENGTH_MISMATCH, 'output buffer too small');
  ctx.replyStatus(NT_STATUS.STATUS_BUFFER_OVERFLOW);
  return { buffer: buf.subarray(0, max) };
}

async function fileInfo(ctx: RequestContext, open: Open, req: QueryInfoRequest): Promise<Buffer> {
  if (NEEDS_READ_ATTRIBUTES.has(req.infoClass) && !open.has(ACCESS.FILE_READ_ATTRIBUTES))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no FILE_READ_ATTRIBUTES');
  if (req.infoClass === FILE_CLASS.FULL_EA && !open.has(ACCESS.FILE_READ_EA))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no FILE_READ_EA');
  const { ns } = ctx.env;
  const file = await ns.getattr(open.ino);
  const fileMeta = await smbMeta(ns, file);
  let attrs = file;
  let meta = fileMeta;
  // A share with apple_extensions shows stored names in the form Macs send (apple/mac-names.ts).
  let path = `\\${open.tree.share.apple ? macPathToWire(open.path) : open.path}`;
  // An open of a named stream answers with the file's times and attributes and the stream's size.
  if (open.stream !== undefined) {
    const size = await openStreamSize(ns, open);
    // A folder's stream is data, as streamAttributes says: its size is its own, no folder's 0.
    attrs = { ...file, size, type: 'file' };
    meta = { ...fileMeta, allocation: inClusters(size), attributes: streamAttributes(fileMeta.attributes) };
    path += `:${open.stream}`;
  }
  const view: FileView = {
    attrs,
    meta,
    normalizedNames: ctx.conn.dialect >= DIALECT.SMB311,
    path,
    deletePending: ctx.env.inodes.deletePending(open.ino, open.stream),
    position: open.position,
    access: open.access,
    mode: open.mode,
    volumeSerial: volumeSerial(ctx.tree!.share.name),
  };
  if (req.infoClass === FILE_CLASS.STREAM) view.streams = await streamList(ctx, file, fileMeta.allocation);
  return encodeFileInfo(req.infoClass, view);
}

/** The file's data streams: its unnamed one (a directory has none), then its named ones. */
async function streamList(ctx: RequestContext, file: Attributes, allocation: bigint) {
  const out = file.type === 'dir' ? [] : [{ name: '::$DATA', size: file.size, allocation }];
  const share = ctx.tree!.share;
  for (const s of await ctx.env.ns.listStreams(file.ino)) {
    // Apple's rules hide an invalid AfpInfo and an empty resource fork, and with AAPL on, any
    // empty stream (apple/afp-streams.ts).
    if (share.apple && (!listed(s.name, s.size) || (ctx.conn.apple && s.size === 0))) continue;
    const size = BigInt(s.size);
    out.push({ name: `:${s.name}:$DATA`, size, allocation: inClusters(size) });
  }
  return out;
}

function pipeInfo(req: QueryInfoRequest): Buffer {
  if (req.infoType !== INFO_TYPE.FILE || req.infoClass !== FILE_CLASS.STANDARD)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'pipes answer FileStandardInformation only');
  const b = Buffer.alloc(24);
  b.writeBigUInt64LE(4096n, 0);
  b.writeUInt32LE(1, 16);
  b[20] = 1;
  return b;
}

/** MS-SMB2 §2.2.38. */
export function encodeQueryInfo(res: QueryInfoResponse): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(9, 0);
  head.writeUInt16LE(HEADER_SIZE + 8, 2);
  head.writeUInt32LE(res.buffer.length, 4);
  return res.buffer.length > 0 ? [head, res.buffer] : [head, Buffer.alloc(1)];
}
