import { R_OK, W_OK, X_OK } from '../../../../storage/permissions.ts';
import { encodePostOpAttr } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import { Access3 } from '../constants.ts';
import type { Procedure } from '../procedure.ts';
import type { Fattr3, Result } from '../types.ts';
import { encodeStatus, type PostOpFail } from './shapes.ts';

export interface AccessArgs {
  object: Buffer;
  access: number;
}

export type AccessRes = Result<{ attrs: Fattr3; access: number }, PostOpFail>;

/**
 * ACCESS (RFC 1813 §3.3.4): the asked bits the caller holds by the mode bits, with MODIFY,
 * EXTEND and DELETE never granted on a read-only export.
 */
export const access: Procedure<AccessArgs, AccessRes> = {
  decode: (r) => ({ object: decodeFh(r, 'object'), access: r.uint32('access') }),

  async handle(ctx, a) {
    const obj = await ctx.file(a.object);
    const bits = await ctx.ns.access(ctx.cred(), obj.ino, R_OK | W_OK | X_OK);
    const isDir = obj.type === 'dir';
    const writable = ctx.export.access === 'rw' && (bits & W_OK) !== 0;
    let granted = 0;
    if (bits & R_OK) granted |= Access3.READ;
    if (isDir && bits & X_OK) granted |= Access3.LOOKUP;
    if (writable) granted |= Access3.MODIFY | Access3.EXTEND;
    if (isDir && writable) granted |= Access3.DELETE;
    if (!isDir && bits & X_OK) granted |= Access3.EXECUTE;
    return { ok: true, attrs: ctx.post(obj), access: granted & a.access };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, attrs: await ctx.postOf(a.object) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    if (res.ok) w.uint32(res.access);
  },
};
