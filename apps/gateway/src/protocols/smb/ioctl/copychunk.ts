import { randomBytes } from 'node:crypto';
import { ACCESS } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import type { Open } from '../open-files.ts';
import { breakReadCaching } from '../oplocks.ts';
import { keepSetTimes, writeTimeAfterChange } from '../set-times.ts';
import { copyStreams, readStream, writeStream } from '../streams.ts';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';

/** Server-side copy limits (MS-SMB2 §3.3.3: Windows' values, as Samba uses them). */
export const MAX_CHUNKS = 256;
export const MAX_CHUNK_BYTES = 1024 * 1024;
export const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

/**
 * Apple's OSX_COPYFILE (apple/aapl.ts): a COPYCHUNK of no chunks, once AAPL is on, copies the
 * whole source with its named streams (Finder info, resource fork, extended attributes) over
 * the target's, as Finder's copy expects; the reply's total is the file's size.
 */
async function copyWholeFile(
  ctx: RequestContext,
  source: Open,
  target: Open,
  writeTime: bigint | 'now',
): Promise<Buffer> {
  const { ns } = ctx.env;
  const cred = ctx.cred();
  const size = (await ns.getattr(source.ino)).size;
  if (ns.locks.conflict(source.ino, 0n, size, false, source.lockKey))
    throw new SmbError(NT_STATUS.STATUS_FILE_LOCK_CONFLICT, 'source range locked');
  if (ns.locks.conflict(target.ino, 0n, size, true, target.lockKey))
    throw new SmbError(NT_STATUS.STATUS_FILE_LOCK_CONFLICT, 'target range locked');
  await breakReadCaching(ctx.env, target);
  for (let at = 0n; at < size; at += BigInt(MAX_CHUNK_BYTES)) {
    const { data } = await ns.read(cred, source.ino, at, MAX_CHUNK_BYTES);
    if (data.length === 0) break;
    await ns.write(cred, target.ino, at, data, 'unstable');
    target.dirty = true;
  }
  await copyStreams(ns, cred, source.ino, target.ino);
  await keepSetTimes(ctx, target, writeTime);
  return copyResult(0, 0, Number(size > 0xffff_ffffn ? 0xffff_ffffn : size));
}

/** A resume key names an open of this session: its volatile id and a per-process secret. */
const SECRET = randomBytes(16);

/** SRV_REQUEST_RESUME_KEY response (§2.2.32.3): 24-byte key, ContextLength 0, 4 reserved bytes. */
export function resumeKey(open: Open): Buffer {
  const out = Buffer.alloc(32);
  out.writeBigUInt64LE(open.fileId.volatile, 0);
  SECRET.copy(out, 8);
  return out;
}

function sourceOf(ctx: RequestContext, key: Buffer): Open {
  const id = key.readBigUInt64LE(0);
  const src = key.subarray(8, 24).equals(SECRET) ? ctx.session!.opens.get(id) : undefined;
  if (!src || src.closed || src.kind !== 'file')
    throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, 'unknown resume key');
  return src;
}

function copyResult(chunks: number, chunkBytes: number, total: number): Buffer {
  const w = new Writer(12);
  w.u32(chunks).u32(chunkBytes).u32(total);
  return w.finish();
}

/**
 * FSCTL_SRV_COPYCHUNK(_WRITE) (§3.3.5.15.6): chunks read from the source open and written to
 * the target, server-side. Requests over the limits get STATUS_INVALID_PARAMETER with the
 * limits in the response body, as the client expects.
 */
export async function copyChunks(
  ctx: RequestContext,
  target: Open,
  input: Buffer,
  maxOutput: number,
  writeOnly: boolean,
): Promise<Buffer> {
  if (maxOutput < 12) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'MaxOutputResponse below 12');
  const r = new Reader(input);
  const key = r.bytes(24, 'SourceKey');
  const count = r.u32('ChunkCount');
  r.skip(4, 'Reserved');
  const over = () => {
    ctx.replyStatus(NT_STATUS.STATUS_INVALID_PARAMETER);
    return copyResult(MAX_CHUNKS, MAX_CHUNK_BYTES, MAX_TOTAL_BYTES);
  };
  if (count > MAX_CHUNKS) return over();
  const chunks: Array<{ src: bigint; dst: bigint; len: number }> = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const src = r.u64('SourceOffset');
    const dst = r.u64('TargetOffset');
    const len = r.u32('Length');
    r.skip(4, 'Reserved');
    if (len === 0 || len > MAX_CHUNK_BYTES) return over();
    total += len;
    chunks.push({ src, dst, len });
  }
  if (total > MAX_TOTAL_BYTES) return over();
  if (target.kind !== 'file')
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'copy target is not a file');
  // The source must be readable (FILE_READ_DATA or FILE_EXECUTE); the target writable, and for
  // COPYCHUNK (not COPYCHUNK_WRITE) FILE_READ_DATA too (Windows' and Samba's rules).
  const targetReadable = target.has(ACCESS.FILE_READ_DATA);
  if (!target.has(ACCESS.FILE_WRITE_DATA) || (!writeOnly && !targetReadable))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'target lacks access for a server-side copy');
  const source = sourceOf(ctx, key);
  if (!source.hasAny(ACCESS.FILE_READ_DATA | ACCESS.FILE_EXECUTE))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'source lacks read access');
  const { ns } = ctx.env;
  const cred = ctx.cred();
  // Named streams (streams.ts) take no byte-range locks: only the files' own ranges are checked.
  const locked = (open: Open, at: bigint, len: number, write: boolean) =>
    open.stream === undefined && ns.locks.conflict(open.ino, at, BigInt(len), write, open.lockKey);
  const read = async (at: bigint, len: number): Promise<Buffer> => {
    if (source.stream === undefined) return (await ns.read(cred, source.ino, at, len)).data;
    return readStream(ns, source.ino, source.stream, at, len);
  };
  const writeTime = await writeTimeAfterChange(ctx, target);
  if (
    count === 0 &&
    ctx.conn.apple &&
    target.tree.share.apple &&
    source.stream === undefined &&
    target.stream === undefined
  )
    return copyWholeFile(ctx, source, target, writeTime);
  let done = 0;
  let written = 0;
  // A chunk that fails ends the copy: the reply carries the failure and what was copied before
  // it, in the SRV_COPYCHUNK_RESPONSE the client reads whatever the status (as Samba answers).
  try {
    for (const c of chunks) {
      if (locked(source, c.src, c.len, false))
        throw new SmbError(NT_STATUS.STATUS_FILE_LOCK_CONFLICT, 'source range locked');
      if (locked(target, c.dst, c.len, true))
        throw new SmbError(NT_STATUS.STATUS_FILE_LOCK_CONFLICT, 'target range locked');
      const data = await read(c.src, c.len);
      if (data.length < c.len)
        throw new SmbError(NT_STATUS.STATUS_INVALID_VIEW_SIZE, 'chunk past the end of the source');
      await breakReadCaching(ctx.env, target);
      if (target.stream !== undefined) await writeStream(ns, cred, target.ino, target.stream, c.dst, data);
      else {
        await ns.write(cred, target.ino, c.dst, data, 'unstable');
        target.dirty = true;
      }
      done++;
      written += c.len;
    }
  } catch (e) {
    if (!(e instanceof SmbError)) throw e;
    ctx.replyStatus(e.status);
  }
  // The copy is a write through the target handle: the times it set stay (set-times.ts).
  if (written > 0) await keepSetTimes(ctx, target, writeTime);
  return copyResult(done, 0, written);
}
