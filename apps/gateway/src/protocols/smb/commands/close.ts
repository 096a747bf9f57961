import { openStreamSize } from '../apple/afp-streams.ts';
import type { RequestContext } from '../context.ts';
import { fileTimes, inClusters, smbMeta, streamAttributes } from '../file-meta.ts';
import type { FileId } from '../open-files.ts';
import type { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { readFileId } from './file-id.ts';

const POSTQUERY_ATTRIB = 0x0001;

export interface CloseRequest {
  flags: number;
  fileId: FileId;
}

export interface CloseResponse {
  flags: number;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  allocationSize: bigint;
  endOfFile: bigint;
  fileAttributes: number;
}

/** MS-SMB2 §2.2.15. */
export function decodeClose(r: Reader): CloseRequest {
  r.structureSize(24);
  const flags = r.u16('Flags');
  r.skip(4, 'Reserved');
  return { flags, fileId: readFileId(r) };
}

/**
 * MS-SMB2 §3.3.5.10. Unstable writes are made durable before the reply (an acknowledged close
 * is on disk); with POSTQUERY_ATTRIB the attributes are those after the last write.
 */
export async function handleClose(ctx: RequestContext, req: CloseRequest): Promise<CloseResponse> {
  const open = ctx.open(req.fileId);
  const empty: CloseResponse = {
    flags: 0,
    creationTime: 0n,
    lastAccessTime: 0n,
    lastWriteTime: 0n,
    changeTime: 0n,
    allocationSize: 0n,
    endOfFile: 0n,
    fileAttributes: 0,
  };
  let res = empty;
  if (req.flags & POSTQUERY_ATTRIB && open.kind !== 'pipe') {
    if (open.dirty) {
      await ctx.env.ns.commit(open.ino);
      open.dirty = false;
    }
    const a = await ctx.env.ns.getattr(open.ino);
    const meta = await smbMeta(ctx.env.ns, a);
    const size =
      open.stream !== undefined ? await openStreamSize(ctx.env.ns, open) : a.type === 'dir' ? 0n : a.size;
    res = {
      flags: POSTQUERY_ATTRIB,
      ...fileTimes(a, meta),
      allocationSize: open.stream !== undefined ? inClusters(size) : meta.allocation,
      endOfFile: size,
      fileAttributes: open.stream !== undefined ? streamAttributes(meta.attributes) : meta.attributes,
    };
  }
  await ctx.conn.closeOpen(open);
  return res;
}

/** MS-SMB2 §2.2.16. */
export function encodeClose(res: CloseResponse): Buffer {
  const w = new Writer(60);
  w.u16(60).u16(res.flags).u32(0);
  w.u64(res.creationTime).u64(res.lastAccessTime).u64(res.lastWriteTime).u64(res.changeTime);
  w.u64(res.allocationSize).u64(res.endOfFile).u32(res.fileAttributes);
  return w.finish();
}
