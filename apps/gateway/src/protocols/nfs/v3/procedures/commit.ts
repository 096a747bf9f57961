import { encodeWcc } from '../codec/attrs.ts';
import { decodeFh } from '../codec/common.ts';
import type { Procedure } from '../procedure.ts';
import type { Result, WccData } from '../types.ts';
import { encodeStatus } from './shapes.ts';

export interface CommitArgs {
  file: Buffer;
  offset: bigint;
  count: number;
}

export type CommitRes = Result<{ wcc: WccData; verifier: Buffer }, { wcc: WccData }>;

/**
 * COMMIT (RFC 1813 §3.3.21): every earlier write to the file becomes durable (the whole file:
 * offset and count only narrow what the client needs). The verifier is WRITE's: a client that
 * sees it change re-sends its uncommitted writes.
 */
export const commit: Procedure<CommitArgs, CommitRes> = {
  decode: (r) => ({ file: decodeFh(r, 'file'), offset: r.uint64('offset'), count: r.uint32('count') }),

  async handle(ctx, a) {
    const file = await ctx.file(a.file);
    if (file.type === 'file') await ctx.ns.commit(file.ino);
    return { ok: true, wcc: await ctx.wcc(file.ino), verifier: ctx.env.writeVerifier };
  },

  fail: async (ctx, a, status) => ({ ok: false, status, wcc: await ctx.wccOf(a.file) }),

  encode(w, res) {
    encodeStatus(w, res);
    encodeWcc(w, res.wcc);
    if (res.ok) w.fixedOpaque(res.verifier);
  },
};
