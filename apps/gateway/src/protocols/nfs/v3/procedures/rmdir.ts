import { decodeDirOpArgs } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs } from '../types.ts';
import { encodeWccRes, type WccRes } from './shapes.ts';

export interface RmdirArgs {
  object: DirOpArgs;
}

/** RMDIR (RFC 1813 §3.3.13): NOTEMPTY for a directory with entries, NOTDIR for anything else. */
export const rmdir: Procedure<RmdirArgs, WccRes> = {
  decode: (r) => ({ object: decodeDirOpArgs(r, 'object') }),

  async handle(ctx, a) {
    const dir = await ctx.dir(a.object.dir);
    ctx.unlinked(await ctx.ns.rmdir(ctx.cred(), dir.ino, a.object.name));
    return { ok: true, wcc: await ctx.wcc(dir.ino) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, wcc: await ctx.wccOf(a.object.dir) }),

  encode: encodeWccRes,
};
