import { encodePostOpAttr } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { Fattr3, Result } from '../types.ts';
import { encodeStatus, type PostOpFail } from './shapes.ts';

export interface ReadlinkArgs {
  symlink: Buffer;
}

export type ReadlinkRes = Result<{ attrs: Fattr3; target: string }, PostOpFail>;

/** READLINK (RFC 1813 §3.3.5): not a symbolic link is NFS3ERR_INVAL. */
export const readlink: Procedure<ReadlinkArgs, ReadlinkRes> = {
  decode: (r) => ({ symlink: decodeFh(r, 'symlink') }),

  async handle(ctx, a) {
    const link = await ctx.file(a.symlink);
    const target = await ctx.ns.readlink(ctx.cred(), link.ino);
    return { ok: true, attrs: ctx.post(link), target };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, attrs: await ctx.postOf(a.symlink) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    if (res.ok) w.string(res.target);
  },
};
