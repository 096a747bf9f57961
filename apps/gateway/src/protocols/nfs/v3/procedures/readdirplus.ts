import { encodePostOpAttr, encodePostOpFh } from '../codec/attrs.ts';
import { decodeFh, decodeVerifier } from '../codec/common.ts';
import { Limits } from '../constants.ts';
import type { Procedure } from '../procedure.ts';
import type { Fattr3, PostOpAttr, Result } from '../types.ts';
import { cookieVerifier, DirSizes, listDirectory } from './dir-listing.ts';
import { encodeStatus, type PostOpFail } from './shapes.ts';

export interface ReaddirplusArgs {
  dir: Buffer;
  cookie: bigint;
  verifier: Buffer;
  dircount: number;
  maxcount: number;
}

export interface EntryPlus {
  name: string;
  fileid: bigint;
  cookie: bigint;
  attrs: PostOpAttr;
  fh: Buffer | undefined;
}

export type ReaddirplusRes = Result<
  { attrs: Fattr3; verifier: Buffer; entries: EntryPlus[]; eof: boolean },
  PostOpFail
>;

/**
 * READDIRPLUS (RFC 1813 §3.3.17): entries with attributes and handles. Both limits hold:
 * `dircount` bounds the directory part (fileid, name, cookie) and `maxcount` the whole reply;
 * the first entry that would break either waits for the next call. A dircount of 0 sets no
 * bound of its own.
 */
export const readdirplus: Procedure<ReaddirplusArgs, ReaddirplusRes> = {
  decode: (r) => ({
    dir: decodeFh(r, 'dir'),
    cookie: r.uint64('cookie'),
    verifier: decodeVerifier(r, 'cookieverf'),
    dircount: r.uint32('dircount'),
    maxcount: r.uint32('maxcount'),
  }),

  async handle(ctx, a) {
    const dir = await ctx.dir(a.dir);
    const maxcount = Math.min(a.maxcount, Limits.dirmax);
    const dircount = a.dircount === 0 ? Number.POSITIVE_INFINITY : a.dircount;
    let used = DirSizes.fixed;
    let dirUsed = 0;
    const { entries, eof } = await listDirectory(ctx, dir, {
      cookie: a.cookie,
      verifier: a.verifier,
      withAttrs: true,
      batch: Math.max(1, Math.min(1024, Math.ceil((maxcount - used) / 150), Math.ceil(dircount / 24))),
      take(e) {
        const size = DirSizes.plusEntry(e.name, e.attrs !== undefined);
        const dirPart = DirSizes.plusDirPart(e.name);
        if (used + size > maxcount) return false;
        // The first entry is always offered: dircount alone never makes a reply empty.
        if (dirUsed > 0 && dirUsed + dirPart > dircount) return false;
        used += size;
        dirUsed += dirPart;
        return true;
      },
    });
    return {
      ok: true,
      attrs: ctx.post(dir),
      verifier: cookieVerifier(dir),
      entries: entries.map((e) => ({
        name: e.name,
        fileid: e.fileid,
        cookie: e.cookie,
        attrs: e.attrs ? ctx.post(e.attrs) : undefined,
        fh: e.attrs ? ctx.handleOf(e.attrs) : undefined,
      })),
      eof,
    };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, attrs: await ctx.postOf(a.dir) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    if (!res.ok) return;
    w.fixedOpaque(res.verifier);
    for (const e of res.entries) {
      w.bool(true).uint64(e.fileid).string(e.name).uint64(e.cookie);
      encodePostOpAttr(w, e.attrs);
      encodePostOpFh(w, e.fh);
    }
    w.bool(false).bool(res.eof);
  },
};
