import type { RequestContext } from '../context.ts';
import type { Reader } from '../wire/reader.ts';

/** MS-SMB2 §2.2.30. */
export function decodeCancel(r: Reader): Record<string, never> {
  r.structureSize(4);
  return {};
}

/**
 * MS-SMB2 §3.3.5.16: aborts the request the header names (by AsyncId, or MessageId for one not
 * yet async). CANCEL itself takes no credit and gets no reply; the cancelled request answers.
 */
export async function handleCancel(ctx: RequestContext, _req: Record<string, never>): Promise<void> {
  ctx.cancelTarget();
}

export function encodeCancel(): null {
  return null;
}
