import { encodeFattr3 } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { Fattr3, Result } from '../types.ts';
import { encodeStatus } from './shapes.ts';

export interface GetattrArgs {
  object: Buffer;
}

export type GetattrRes = Result<{ attrs: Fattr3 }, Record<never, never>>;

/** GETATTR (RFC 1813 §3.3.1): the failure arm is void. */
export const getattr: Procedure<GetattrArgs, GetattrRes> = {
  decode: (r) => ({ object: decodeFh(r, 'object') }),

  async handle(ctx, a) {
    return { ok: true, attrs: ctx.post(await ctx.file(a.object)) };
  },

  now(ctx, a) {
    const attrs = ctx.fileNow(a.object);
    return attrs && { ok: true, attrs: ctx.post(attrs) };
  },

  fail: async (_ctx, _a, status) => ({ ok: false, status }),

  encode(w, res) {
    encodeStatus(w, res);
    if (res.ok) encodeFattr3(w, res.attrs);
  },
};
