import type { RequestContext } from '../context.ts';
import type { Reader } from '../wire/reader.ts';

/** MS-SMB2 §2.2.7. */
export function decodeLogoff(r: Reader): Record<string, never> {
  r.structureSize(4);
  return {};
}

/**
 * MS-SMB2 §3.3.5.6: every open, tree and lock of the session goes (durable opens wait for a
 * reconnect, as Windows and Samba keep them); the reply is still signed with its key.
 */
export async function handleLogoff(ctx: RequestContext, _req: Record<string, never>): Promise<void> {
  await ctx.conn.logoff(ctx.session!, { keepDurable: true });
}

export function encodeLogoff(): Buffer {
  return Buffer.from([4, 0, 0, 0]);
}
