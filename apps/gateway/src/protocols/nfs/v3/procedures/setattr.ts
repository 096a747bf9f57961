import { decodeFh, decodeNfsTime, nfsTimeToNs } from '../codec/common.ts';
import { decodeSattr3, hasBadTime, toSetAttributes } from '../codec/sattr3.ts';
import { Nfsstat3 } from '../constants.ts';
import { nfsError } from '../errors.ts';
import type { Procedure } from '../procedure.ts';
import type { NfsTime, Sattr3 } from '../types.ts';
import { encodeWccRes, type WccRes } from './shapes.ts';

export interface SetattrArgs {
  object: Buffer;
  attrs: Sattr3;
  /** sattrguard3: the ctime the client last saw; the change happens only if it is still current. */
  guard: NfsTime | undefined;
}

/** SETATTR (RFC 1813 §3.3.2): a guard mismatch is NFS3ERR_NOT_SYNC and changes nothing. */
export const setattr: Procedure<SetattrArgs, WccRes> = {
  decode(r) {
    const object = decodeFh(r, 'object');
    const attrs = decodeSattr3(r, 'new_attributes');
    const guard = r.optional('guard', () => decodeNfsTime(r, 'guard.obj_ctime'));
    return { object, attrs, guard };
  },

  async handle(ctx, a) {
    const obj = await ctx.file(a.object);
    if (hasBadTime(a.attrs)) throw nfsError(Nfsstat3.INVAL, 'nseconds out of range');
    const set = toSetAttributes(a.attrs);
    if (a.guard) set.guardCtimeNs = nfsTimeToNs(a.guard);
    const recall = ctx.ns.caching.recall(obj.ino);
    if (recall) await recall;
    const cred = set.size !== undefined ? ctx.ioCred(obj, 'write') : ctx.cred();
    const after = await ctx.ns.setattr(cred, obj.ino, set);
    return { ok: true, wcc: await ctx.wcc(obj.ino, after) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, wcc: await ctx.wccOf(a.object) }),

  encode: encodeWccRes,
};
