import type { Stability } from '../../../../storage/types.ts';
import { encodeWcc } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import { Limits, Nfsstat3, StableHow } from '../constants.ts';
import { nfsError } from '../errors.ts';
import type { Procedure } from '../procedure.ts';
import type { Result, WccData } from '../types.ts';
import { encodeStatus } from './shapes.ts';

export interface WriteArgs {
  file: Buffer;
  offset: bigint;
  count: number;
  stable: StableHow;
  /** A view of the call's record: written, never kept. */
  data: Buffer;
}

export type WriteRes = Result<
  { wcc: WccData; count: number; committed: StableHow; verifier: Buffer },
  { wcc: WccData }
>;

const STABLE_HOW: ReadonlySet<number> = new Set(Object.values(StableHow));

/** What the namespace is asked for; DATA_SYNC and FILE_SYNC both return only once durable. */
const STABILITY: Readonly<Record<StableHow, Stability>> = {
  [StableHow.UNSTABLE]: 'unstable',
  [StableHow.DATA_SYNC]: 'data',
  [StableHow.FILE_SYNC]: 'file',
};

/**
 * WRITE (RFC 1813 §3.3.7). UNSTABLE data may be lost by a crash until COMMIT; the verifier
 * (random per server instance) tells the client when that may have happened. The namespace
 * syncs data and metadata for DATA_SYNC, so both stable forms are answered FILE_SYNC.
 */
export const write: Procedure<WriteArgs, WriteRes> = {
  decode(r) {
    const file = decodeFh(r, 'file');
    const offset = r.uint64('offset');
    const count = r.uint32('count');
    const stable = r.enumOf<StableHow>('stable', STABLE_HOW);
    const data = r.opaque(Limits.wtmax, 'data');
    return { file, offset, count, stable, data };
  },

  async handle(ctx, a) {
    const file = await ctx.file(a.file);
    if (a.count > a.data.length) throw nfsError(Nfsstat3.INVAL, 'count exceeds the data sent');
    const data = a.count < a.data.length ? a.data.subarray(0, a.count) : a.data;
    // An SMB client caching the file flushes and drops what it holds first.
    const recall = ctx.ns.caching.recall(file.ino);
    if (recall) await recall;
    const after = await ctx.ns.write(
      ctx.ioCred(file, 'write'),
      file.ino,
      a.offset,
      data,
      STABILITY[a.stable],
    );
    return {
      ok: true,
      wcc: await ctx.wcc(file.ino, after),
      count: data.length,
      committed: a.stable === StableHow.UNSTABLE ? StableHow.UNSTABLE : StableHow.FILE_SYNC,
      verifier: ctx.env.writeVerifier,
    };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, wcc: await ctx.wccOf(a.file) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodeWcc(w, res.wcc);
    if (res.ok) w.uint32(res.count).uint32(res.committed).fixedOpaque(res.verifier);
  },
};
