import { decodeDirOpArgs } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs } from '../types.ts';
import { encodeWccRes, type WccRes } from './shapes.ts';

export interface RemoveArgs {
  object: DirOpArgs;
}

/** REMOVE (RFC 1813 §3.3.12): a directory is NFS3ERR_ISDIR (use RMDIR). */
export const remove: Procedure<RemoveArgs, WccRes> = {
  decode: (r) => ({ object: decodeDirOpArgs(r, 'object') }),

  async handle(ctx, a) {
    const dir = await ctx.dir(a.object.dir);
    await ctx.ns.recallNamed(ctx.cred(), dir.ino, a.object.name);
    ctx.unlinked(await ctx.ns.remove(ctx.cred(), dir.ino, a.object.name));
    return { ok: true, wcc: await ctx.wcc(dir.ino) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, wcc: await ctx.wccOf(a.object.dir) }),

  encode: encodeWccRes,
};
