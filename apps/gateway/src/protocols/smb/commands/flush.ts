import { ACCESS } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import type { FileId } from '../open-files.ts';
import type { Reader } from '../wire/reader.ts';
import { readFileId } from './file-id.ts';

export interface FlushRequest {
  fileId: FileId;
}

/** MS-SMB2 §2.2.17. */
export function decodeFlush(r: Reader): FlushRequest {
  r.structureSize(24);
  r.skip(2, 'Reserved1');
  r.skip(4, 'Reserved2');
  return { fileId: readFileId(r) };
}

/** MS-SMB2 §3.3.5.11: replies once every earlier write to the file is on disk. */
export async function handleFlush(ctx: RequestContext, req: FlushRequest): Promise<void> {
  const open = ctx.open(req.fileId);
  if (open.kind === 'pipe') return;
  if (!open.hasAny(ACCESS.FILE_WRITE_DATA | ACCESS.FILE_APPEND_DATA))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'flush needs write access');
  await ctx.env.ns.commit(open.ino);
  open.dirty = false;
}

export function encodeFlush(): Buffer {
  return Buffer.from([4, 0, 0, 0]);
}
