import { encodeWcc } from '../codec/attrs.ts';
import { decodeDirOpArgs } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs, Result, WccData } from '../types.ts';
import { encodeStatus } from './shapes.ts';

export interface RenameArgs {
  from: DirOpArgs;
  to: DirOpArgs;
}

type Wccs = { fromWcc: WccData; toWcc: WccData };
export type RenameRes = Result<Wccs, Wccs>;

/**
 * RENAME (RFC 1813 §3.3.14): atomic in the namespace; between two exports it is NFS3ERR_XDEV
 * (NfsCall.file refuses the second handle).
 */
export const rename: Procedure<RenameArgs, RenameRes> = {
  decode: (r) => ({ from: decodeDirOpArgs(r, 'from'), to: decodeDirOpArgs(r, 'to') }),

  async handle(ctx, a) {
    const from = await ctx.dir(a.from.dir);
    const to = await ctx.dir(a.to.dir);
    // SMB clients caching the file moved, or the one replaced, give up their handles first.
    await ctx.ns.recallNamed(ctx.cred(), from.ino, a.from.name);
    await ctx.ns.recallNamed(ctx.cred(), to.ino, a.to.name);
    ctx.unlinked(await ctx.ns.rename(ctx.cred(), from.ino, a.from.name, to.ino, a.to.name));
    return { ok: true, fromWcc: await ctx.wcc(from.ino), toWcc: await ctx.wcc(to.ino) };
  },

  fail: async (ctx, a, status) => ({
    ok: false,
    status,
    fromWcc: await ctx.wccOf(a.from.dir),
    toWcc: await ctx.wccOf(a.to.dir),
  }),

  encode(w, res) {
    encodeStatus(w, res);
    encodeWcc(w, res.fromWcc);
    encodeWcc(w, res.toWcc);
  },
};
