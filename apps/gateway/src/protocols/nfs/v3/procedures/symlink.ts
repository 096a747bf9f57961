import { decodeDirOpArgs, decodeName, MAX_SYMLINK_DATA_BYTES } from '../codec/common.ts';
import { decodeSattr3, hasBadTime } from '../codec/sattr3.ts';
import { Nfsstat3 } from '../constants.ts';
import { nfsError } from '../errors.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs, Sattr3 } from '../types.ts';
import { applyInitial } from './new-object.ts';
import { encodeNewObjectRes, type NewObjectRes } from './shapes.ts';

export interface SymlinkArgs {
  where: DirOpArgs;
  attrs: Sattr3;
  target: string;
}

/** SYMLINK (RFC 1813 §3.3.10): the target is stored as given, never resolved by the server. */
export const symlink: Procedure<SymlinkArgs, NewObjectRes> = {
  decode(r) {
    const where = decodeDirOpArgs(r, 'where');
    const attrs = decodeSattr3(r, 'symlink.symlink_attributes');
    const target = decodeName(r, 'symlink.symlink_data', MAX_SYMLINK_DATA_BYTES);
    return { where, attrs, target };
  },

  async handle(ctx, a) {
    const dir = await ctx.dir(a.where.dir);
    if (hasBadTime(a.attrs)) throw nfsError(Nfsstat3.INVAL, 'nseconds out of range');
    const created = await ctx.ns.symlink(ctx.cred(), dir.ino, a.where.name, a.target);
    const obj = await applyInitial(ctx, created, a.attrs);
    return { ok: true, fh: ctx.handleOf(obj), attrs: ctx.post(obj), dirWcc: await ctx.wcc(dir.ino) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, dirWcc: await ctx.wccOf(a.where.dir) }),

  encode: encodeNewObjectRes,
};
