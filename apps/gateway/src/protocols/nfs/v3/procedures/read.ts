import type { ReadResult } from '../../../../storage/types.ts';
import { encodePostOpAttr } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import { Limits } from '../constants.ts';
import type { Procedure } from '../procedure.ts';
import { ReadAhead } from '../read-ahead.ts';
import type { Fattr3, Result } from '../types.ts';
import { encodeStatus, type PostOpFail } from './shapes.ts';

export interface ReadArgs {
  file: Buffer;
  offset: bigint;
  count: number;
}

export type ReadRes = Result<{ attrs: Fattr3; eof: boolean; data: Buffer; release?: () => void }, PostOpFail>;

/**
 * READ (RFC 1813 §3.3.6): at most rtmax bytes; `eof` when the reply reaches the end of the
 * file. Large reads land in a pooled buffer that goes into the reply by reference (no copy)
 * and back to the pool once the socket has taken it; a front-to-back reader is served from
 * read-ahead (read-ahead.ts).
 */
export const read: Procedure<ReadArgs, ReadRes> = {
  decode: (r) => ({ file: decodeFh(r, 'file'), offset: r.uint64('offset'), count: r.uint32('count') }),

  async handle(ctx, a) {
    let file = await ctx.file(a.file);
    // An SMB client caching writes to the file writes them back first.
    const recall = ctx.ns.caching.recall(file.ino, 'read');
    if (recall) {
      await recall;
      file = await ctx.file(a.file);
    }
    const count = Math.min(a.count, Limits.rtmax);
    const cred = ctx.ioCred(file, 'read');
    const who = ReadAhead.who(cred);
    const fromDisk = (offset: bigint) => ctx.ns.read(cred, file.ino, offset, count, { pooled: true });
    const ahead = ctx.env.readAhead.take(file.ino, who, a.offset, count, file.changeId);
    let got: ReadResult;
    try {
      got = ahead ? await ahead : await fromDisk(a.offset);
    } catch (e) {
      if (!ahead) throw e;
      got = await fromDisk(a.offset);
    }
    if (!got.eof && got.data.length === count) {
      const end = a.offset + BigInt(count);
      ctx.env.readAhead.served(file.ino, who, a.offset, end, count, file.changeId, fromDisk);
    }
    return { ok: true, attrs: ctx.post(file), eof: got.eof, data: got.data, release: got.release };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, attrs: await ctx.postOf(a.file) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodePostOpAttr(w, res.attrs);
    if (res.ok) {
      w.uint32(res.data.length).bool(res.eof);
      w.opaqueByRef(res.data, res.release);
    }
  },
};
