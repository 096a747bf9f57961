import type { RequestContext } from '../context.ts';
import { endTree } from '../tree-end.ts';
import type { Reader } from '../wire/reader.ts';

/** MS-SMB2 §2.2.11. */
export function decodeTreeDisconnect(r: Reader): Record<string, never> {
  r.structureSize(4);
  return {};
}

/** MS-SMB2 §3.3.5.8: the tree's opens are closed with it. */
export async function handleTreeDisconnect(ctx: RequestContext, _req: Record<string, never>): Promise<void> {
  await endTree(ctx.env, ctx.session!, ctx.tree!);
}

export function encodeTreeDisconnect(): Buffer {
  return Buffer.from([4, 0, 0, 0]);
}
