import type { XdrReader } from '../../xdr/reader.ts';
import type { XdrWriter } from '../../xdr/writer.ts';
import type { NfsErrorStatus } from './constants.ts';
import type { NfsCall } from './context.ts';

/**
 * One NFSv3 procedure, as its file under procedures/ defines it: a pure decoder of its
 * arguments (XdrError on bad bytes), a handler from typed arguments to a typed success result
 * (it throws FsError / NfsStatusError to fail), the full failure result for a status (post-op
 * attributes or wcc_data, RFC 1813), and a pure encoder of either result.
 */
export interface Procedure<Args, Res> {
  decode(r: XdrReader): Args;
  handle(ctx: NfsCall, args: Args): Promise<Res>;
  /**
   * The success result when it can be had without a wait (from the attribute cache), else
   * undefined and `handle` runs. Never fails: whatever would fail is left to `handle`.
   */
  now?(ctx: NfsCall, args: Args): Res | undefined;
  fail(ctx: NfsCall, args: Args, status: NfsErrorStatus): Promise<Res>;
  encode(w: XdrWriter, res: Res): void;
}
