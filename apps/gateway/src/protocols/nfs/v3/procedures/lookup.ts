import type { Attributes } from '../../../../storage/types.ts';
import { encodePostOpAttr } from '../codec/attrs.ts';
import { decodeDirOpArgs } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs, Fattr3, PostOpAttr, Result } from '../types.ts';
import { encodeStatus } from './shapes.ts';

export interface LookupArgs {
  what: DirOpArgs;
}

export type LookupRes = Result<{ fh: Buffer; attrs: Fattr3; dirAttrs: PostOpAttr }, { dirAttrs: PostOpAttr }>;

/** LOOKUP (RFC 1813 §3.3.3). `..` never leaves the export (see NfsCall.parentOf). */
export const lookup: Procedure<LookupArgs, LookupRes> = {
  decode: (r) => ({ what: decodeDirOpArgs(r, 'what') }),

  async handle(ctx, a) {
    const dir = await ctx.dir(a.what.dir);
    const name = a.what.name;
    let obj: Attributes;
    if (name === '.' || name === '..') {
      // Search permission on the directory, as for any name.
      await ctx.ns.lookup(ctx.cred(), dir.ino, '.');
      obj = name === '.' ? dir : await ctx.parentOf(dir);
    } else {
      obj = await ctx.ns.lookup(ctx.cred(), dir.ino, name);
    }
    return { ok: true, fh: ctx.handleOf(obj), attrs: ctx.post(obj), dirAttrs: ctx.post(dir) };
  },

  now(ctx, a) {
    const dir = ctx.fileNow(a.what.dir);
    const obj = dir && ctx.ns.cachedLookup(ctx.cred(), dir, a.what.name);
    return obj && { ok: true, fh: ctx.handleOf(obj), attrs: ctx.post(obj), dirAttrs: ctx.post(dir) };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, dirAttrs: await ctx.postOf(a.what.dir) }),

  encode(w, res) {
    encodeStatus(w, res);
    if (res.ok) {
      w.opaque(res.fh);
      encodePostOpAttr(w, res.attrs);
    }
    encodePostOpAttr(w, res.dirAttrs);
  },
};
