import { decodeDirOpArgs } from '../codec/common.ts';
import { decodeSattr3, hasBadTime } from '../codec/sattr3.ts';
import { Nfsstat3 } from '../constants.ts';
import { nfsError } from '../errors.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs, Sattr3 } from '../types.ts';
import { applyInitial } from './new-object.ts';
import { encodeNewObjectRes, type NewObjectRes } from './shapes.ts';

export interface MkdirArgs {
  where: DirOpArgs;
  attrs: Sattr3;
}

export const DEFAULT_DIR_MODE = 0o755;

/** MKDIR (RFC 1813 §3.3.9). */
export const mkdir: Procedure<MkdirArgs, NewObjectRes> = {
  decode: (r) => ({ where: decodeDirOpArgs(r, 'where'), attrs: decodeSattr3(r, 'attributes') }),

  async handle(ctx, a) {
    const dir = await ctx.dir(a.where.dir);
    if (hasBadTime(a.attrs)) throw nfsError(Nfsstat3.INVAL, 'nseconds out of range');
    const mode = a.attrs.mode === undefined ? DEFAULT_DIR_MODE : a.attrs.mode & 0o7777;
    const created = await ctx.ns.mkdir(ctx.cred(), dir.ino, a.where.name, mode);
    const obj = await applyInitial(ctx, created, a.attrs);
    return { ok: true, fh: ctx.handleOf(obj), attrs: ctx.post(obj), dirWcc: await ctx.wcc(dir.ino) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, dirWcc: await ctx.wccOf(a.where.dir) }),

  encode: encodeNewObjectRes,
};
