import { encodePostOpAttr } from '../codec/attrs.ts';
import { decodeFh, decodeVerifier } from '../codec/common.ts';
import { Limits } from '../constants.ts';
import type { Procedure } from '../procedure.ts';
import type { Fattr3, Result } from '../types.ts';
import { cookieVerifier, DirSizes, type Listed, listDirectory } from './dir-listing.ts';
import { encodeStatus, type PostOpFail } from './shapes.ts';

export interface ReaddirArgs {
  dir: Buffer;
  cookie: bigint;
  verifier: Buffer;
  count: number;
}

export type ReaddirRes = Result<
  { attrs: Fattr3; verifier: Buffer; entries: Listed[]; eof: boolean },
  PostOpFail
>;

/** READDIR (RFC 1813 §3.3.16): entries that would take the reply past `count` wait for the next call. */
export const readdir: Procedure<ReaddirArgs, ReaddirRes> = {
  decode: (r) => ({
    dir: decodeFh(r, 'dir'),
    cookie: r.uint64('cookie'),
    verifier: decodeVerifier(r, 'cookieverf'),
    count: r.uint32('count'),
  }),

  async handle(ctx, a) {
    const dir = await ctx.dir(a.dir);
    const count = Math.min(a.count, Limits.dirmax);
    let used = DirSizes.fixed;
    const { entries, eof } = await listDirectory(ctx, dir, {
      cookie: a.cookie,
      verifier: a.verifier,
      withAttrs: false,
      batch: Math.max(1, Math.min(4096, Math.ceil((count - used) / 32))),
      take(e) {
        const size = DirSizes.entry(e.name);
        if (used + size > count) return false;
        used += size;
        return true;
      },
    });
    return { ok: true, attrs: ctx.post(dir), verifier: cookieVerifier(dir), entries, eof };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, attrs: await ctx.postOf(a.dir) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    if (!res.ok) return;
    w.fixedOpaque(res.verifier);
    for (const e of res.entries) w.bool(true).uint64(e.fileid).string(e.name).uint64(e.cookie);
    w.bool(false).bool(res.eof);
  },
};
