import { encodePostOpAttr } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { Fattr3, Result } from '../types.ts';
import { encodeStatus, type PostOpFail } from './shapes.ts';

export interface FsstatArgs {
  root: Buffer;
}

export type FsstatRes = Result<
  {
    attrs: Fattr3;
    tbytes: bigint;
    fbytes: bigint;
    abytes: bigint;
    tfiles: bigint;
    ffiles: bigint;
    afiles: bigint;
  },
  PostOpFail
>;

/**
 * FSSTAT (RFC 1813 §3.3.18): the namespace's capacity as the caller's quotas leave it (abytes is
 * "available to the user identified by the authentication"); invarsec 0 (it changes at any time).
 */
export const fsstat: Procedure<FsstatArgs, FsstatRes> = {
  decode: (r) => ({ root: decodeFh(r, 'fsroot') }),

  async handle(ctx, a) {
    const obj = await ctx.file(a.root);
    const s = await ctx.ns.statfs(ctx.cred());
    return {
      ok: true,
      attrs: ctx.post(obj),
      tbytes: s.totalBytes,
      fbytes: s.freeBytes,
      abytes: s.availBytes,
      tfiles: s.totalFiles,
      ffiles: s.freeFiles,
      afiles: s.freeFiles,
    };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, attrs: await ctx.postOf(a.root) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    if (!res.ok) return;
    w.uint64(res.tbytes).uint64(res.fbytes).uint64(res.abytes);
    w.uint64(res.tfiles).uint64(res.ffiles).uint64(res.afiles).uint32(0);
  },
};
