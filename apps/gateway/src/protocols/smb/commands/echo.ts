import type { RequestContext } from '../context.ts';
import type { Reader } from '../wire/reader.ts';

/** MS-SMB2 §2.2.28 / §3.3.5.16: a 4-byte request answered with a 4-byte response. */
export function decodeEcho(r: Reader): Record<string, never> {
  r.structureSize(4);
  return {};
}

export async function handleEcho(_ctx: RequestContext, _req: Record<string, never>): Promise<void> {}

export function encodeEcho(): Buffer {
  return Buffer.from([4, 0, 0, 0]);
}
