import type { CreateMode, SetAttributes } from '../../../../storage/types.ts';
import { decodeDirOpArgs, decodeVerifier } from '../codec/common.ts';
import { decodeSattr3, hasBadTime, toSetAttributes } from '../codec/sattr3.ts';
import { CreateMode3, Nfsstat3 } from '../constants.ts';
import { nfsError } from '../errors.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs, Sattr3 } from '../types.ts';
import { encodeNewObjectRes, type NewObjectRes } from './shapes.ts';

export type CreateHow =
  | { mode: 'unchecked' | 'guarded'; attrs: Sattr3 }
  | { mode: 'exclusive'; verifier: Buffer };

export interface CreateArgs {
  where: DirOpArgs;
  how: CreateHow;
}

const CREATE_MODES: ReadonlySet<number> = new Set(Object.values(CreateMode3));

/** Mode of a file created without one (EXCLUSIVE carries none; the client SETATTRs after). */
export const DEFAULT_FILE_MODE = 0o644;

/**
 * CREATE (RFC 1813 §3.3.8). UNCHECKED opens an existing regular file (applying size and
 * times, never mode); GUARDED fails with EXIST; EXCLUSIVE stores the verifier with the file,
 * so the retransmission of a create that succeeded finds the same verifier and succeeds.
 */
export const create: Procedure<CreateArgs, NewObjectRes> = {
  decode(r) {
    const where = decodeDirOpArgs(r, 'where');
    const mode = r.enumOf<number>('how.mode', CREATE_MODES);
    const how: CreateHow =
      mode === CreateMode3.EXCLUSIVE
        ? { mode: 'exclusive', verifier: decodeVerifier(r, 'how.verf') }
        : {
            mode: mode === CreateMode3.GUARDED ? 'guarded' : 'unchecked',
            attrs: decodeSattr3(r, 'how.obj_attributes'),
          };
    return { where, how };
  },

  async handle(ctx, a) {
    const dir = await ctx.dir(a.where.dir);
    let mode = DEFAULT_FILE_MODE;
    let how: CreateMode;
    let initial: SetAttributes = {};
    if (a.how.mode === 'exclusive') {
      how = { kind: 'exclusive', verifier: Buffer.from(a.how.verifier) };
    } else {
      if (hasBadTime(a.how.attrs)) throw nfsError(Nfsstat3.INVAL, 'nseconds out of range');
      const set = toSetAttributes(a.how.attrs);
      if (set.mode !== undefined) mode = set.mode;
      delete set.mode;
      initial = set;
      how = { kind: a.how.mode };
    }
    // UNCHECKED over an existing file may truncate it: SMB clients caching it give it up first.
    if (how.kind === 'unchecked' && initial.size !== undefined)
      await ctx.ns.recallNamed(ctx.cred(), dir.ino, a.where.name);
    const obj = await ctx.ns.create(ctx.cred(), dir.ino, a.where.name, mode, how, initial);
    return { ok: true, fh: ctx.handleOf(obj), attrs: ctx.post(obj), dirWcc: await ctx.wcc(dir.ino) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, dirWcc: await ctx.wccOf(a.where.dir) }),

  encode: encodeNewObjectRes,
};
