import { MAX_FILE_SIZE } from '../../../../storage/sqlite/store.ts';
import { encodePostOpAttr } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import { FSF3, Limits } from '../constants.ts';
import type { Procedure } from '../procedure.ts';
import type { Fattr3, Result } from '../types.ts';
import { encodeStatus, type PostOpFail } from './shapes.ts';

export interface FsinfoArgs {
  root: Buffer;
}

export type FsinfoRes = Result<{ attrs: Fattr3 }, PostOpFail>;

export const FSINFO_PROPERTIES = FSF3.LINK | FSF3.SYMLINK | FSF3.HOMOGENEOUS | FSF3.CANSETTIME;

/**
 * FSINFO (RFC 1813 §3.3.19): transfer sizes (constants.ts Limits), the largest file, 1 ns time
 * resolution, hard links and symlinks, the same PATHCONF everywhere, settable times.
 */
export const fsinfo: Procedure<FsinfoArgs, FsinfoRes> = {
  decode: (r) => ({ root: decodeFh(r, 'fsroot') }),

  async handle(ctx, a) {
    return { ok: true, attrs: ctx.post(await ctx.file(a.root)) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, attrs: await ctx.postOf(a.root) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    if (!res.ok) return;
    w.uint32(Limits.rtmax).uint32(Limits.rtpref).uint32(Limits.rtmult);
    w.uint32(Limits.wtmax).uint32(Limits.wtpref).uint32(Limits.wtmult);
    w.uint32(Limits.dtpref).uint64(MAX_FILE_SIZE);
    w.uint32(0).uint32(1); // time_delta: 1 ns
    w.uint32(FSINFO_PROPERTIES);
  },
};
