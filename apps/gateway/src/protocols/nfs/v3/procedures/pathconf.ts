import { encodePostOpAttr } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import { Limits } from '../constants.ts';
import type { Procedure } from '../procedure.ts';
import type { Fattr3, Result } from '../types.ts';
import { encodeStatus, type PostOpFail } from './shapes.ts';

export interface PathconfArgs {
  object: Buffer;
}

export type PathconfRes = Result<{ attrs: Fattr3 }, PostOpFail>;

/**
 * PATHCONF (RFC 1813 §3.3.20): names up to 255 bytes, refused rather than truncated; only
 * root gives files away; names are case-sensitive and kept as written.
 */
export const pathconf: Procedure<PathconfArgs, PathconfRes> = {
  decode: (r) => ({ object: decodeFh(r, 'object') }),

  async handle(ctx, a) {
    return { ok: true, attrs: ctx.post(await ctx.file(a.object)) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, attrs: await ctx.postOf(a.object) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    if (!res.ok) return;
    w.uint32(Limits.linkMax).uint32(Limits.nameMax);
    w.bool(true); // no_trunc
    w.bool(true); // chown_restricted
    w.bool(false); // case_insensitive
    w.bool(true); // case_preserving
  },
};
