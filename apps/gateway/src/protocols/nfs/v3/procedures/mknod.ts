import { decodeDirOpArgs } from '../codec/common.ts';
import { decodeSattr3, hasBadTime } from '../codec/sattr3.ts';
import { FTYPE3_VALUES, Ftype3, Nfsstat3 } from '../constants.ts';
import { nfsError } from '../errors.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs, Sattr3 } from '../types.ts';
import { applyInitial } from './new-object.ts';
import { encodeNewObjectRes, type NewObjectRes } from './shapes.ts';

export type MknodWhat =
  | { type: typeof Ftype3.FIFO | typeof Ftype3.SOCK; attrs: Sattr3 }
  | { type: typeof Ftype3.CHR | typeof Ftype3.BLK; attrs: Sattr3; major: number; minor: number }
  | { type: typeof Ftype3.REG | typeof Ftype3.DIR | typeof Ftype3.LNK };

export interface MknodArgs {
  where: DirOpArgs;
  what: MknodWhat;
}

export const DEFAULT_NODE_MODE = 0o644;

/**
 * MKNOD (RFC 1813 §3.3.11): FIFOs and sockets. Device nodes are NFS3ERR_NOTSUPP (a gateway
 * has no devices to offer); regular files, directories and links are NFS3ERR_BADTYPE.
 */
export const mknod: Procedure<MknodArgs, NewObjectRes> = {
  decode(r) {
    const where = decodeDirOpArgs(r, 'where');
    const type = r.enumOf<Ftype3>('what.type', FTYPE3_VALUES);
    let what: MknodWhat;
    if (type === Ftype3.CHR || type === Ftype3.BLK) {
      const attrs = decodeSattr3(r, 'what.device.dev_attributes');
      what = {
        type,
        attrs,
        major: r.uint32('what.device.spec.major'),
        minor: r.uint32('what.device.spec.minor'),
      };
    } else if (type === Ftype3.FIFO || type === Ftype3.SOCK) {
      what = { type, attrs: decodeSattr3(r, 'what.pipe_attributes') };
    } else {
      what = { type };
    }
    return { where, what };
  },

  async handle(ctx, a) {
    const dir = await ctx.dir(a.where.dir);
    const w = a.what;
    if (w.type === Ftype3.CHR || w.type === Ftype3.BLK) {
      throw nfsError(Nfsstat3.NOTSUPP, 'device nodes are not supported');
    }
    if (w.type !== Ftype3.FIFO && w.type !== Ftype3.SOCK) {
      throw nfsError(Nfsstat3.BADTYPE, 'MKNOD makes FIFOs and sockets only');
    }
    if (hasBadTime(w.attrs)) throw nfsError(Nfsstat3.INVAL, 'nseconds out of range');
    const mode = w.attrs.mode === undefined ? DEFAULT_NODE_MODE : w.attrs.mode & 0o7777;
    const type = w.type === Ftype3.FIFO ? 'fifo' : 'socket';
    const created = await ctx.ns.mknod(ctx.cred(), dir.ino, a.where.name, type, mode);
    const obj = await applyInitial(ctx, created, w.attrs);
    return { ok: true, fh: ctx.handleOf(obj), attrs: ctx.post(obj), dirWcc: await ctx.wcc(dir.ino) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, dirWcc: await ctx.wccOf(a.where.dir) }),

  encode: encodeNewObjectRes,
};
