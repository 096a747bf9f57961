import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import type { Reader } from '../wire/reader.ts';

export interface OplockBreakRequest {
  lease: boolean;
}

/** MS-SMB2 §2.2.24 (oplock break acknowledgment, 24 bytes) and §2.2.24.2 (lease, 36 bytes). */
export function decodeOplockBreak(r: Reader): OplockBreakRequest {
  const size = r.u16('StructureSize');
  if (size !== 24 && size !== 36)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `StructureSize ${size}`);
  return { lease: size === 36 };
}

/**
 * This server grants no oplocks and no leases, so it never sends a break: an acknowledgment is
 * for nothing it knows (§3.3.5.22.1: STATUS_INVALID_OPLOCK_PROTOCOL; §3.3.5.22.2: no such lease).
 */
export async function handleOplockBreak(_ctx: RequestContext, req: OplockBreakRequest): Promise<never> {
  if (req.lease) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, 'no leases are granted');
  throw new SmbError(NT_STATUS.STATUS_INVALID_OPLOCK_PROTOCOL, 'no oplocks are granted');
}

export function encodeOplockBreak(): Buffer {
  return Buffer.alloc(24);
}
