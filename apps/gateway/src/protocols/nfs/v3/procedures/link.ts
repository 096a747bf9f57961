import { encodePostOpAttr, encodeWcc } from '../codec/attrs.ts';
import { decodeDirOpArgs, decodeFh } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { DirOpArgs, PostOpAttr, Result, WccData } from '../types.ts';
import { encodeStatus } from './shapes.ts';

export interface LinkArgs {
  file: Buffer;
  link: DirOpArgs;
}

type Body = { attrs: PostOpAttr; dirWcc: WccData };
export type LinkRes = Result<Body, Body>;

/** LINK (RFC 1813 §3.3.15): no links to directories (NFS3ERR_PERM), none across exports (XDEV). */
export const link: Procedure<LinkArgs, LinkRes> = {
  decode: (r) => ({ file: decodeFh(r, 'file'), link: decodeDirOpArgs(r, 'link') }),

  async handle(ctx, a) {
    const file = await ctx.file(a.file);
    const dir = await ctx.dir(a.link.dir);
    const after = await ctx.ns.link(ctx.cred(), file.ino, dir.ino, a.link.name);
    return { ok: true, attrs: ctx.post(after), dirWcc: await ctx.wcc(dir.ino) };
  },

  fail: async (ctx, a, status) => ({
    ok: false,
    status,
    attrs: await ctx.postOf(a.file),
    dirWcc: await ctx.wccOf(a.link.dir),
  }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    encodeWcc(w, res.dirWcc);
  },
};
