import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import type { FileId } from '../open-files.ts';
import { acknowledgeBreak } from '../oplocks.ts';
import type { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { readFileId } from './file-id.ts';

export type OplockBreakRequest = { lease: true } | { lease: false; level: number; fileId: FileId };

export interface OplockBreakResponse {
  level: number;
  fileId: FileId;
}

/** MS-SMB2 §2.2.24.1 (oplock break acknowledgment, 24 bytes) and §2.2.24.2 (lease, 36 bytes). */
export function decodeOplockBreak(r: Reader): OplockBreakRequest {
  const size = r.u16('StructureSize');
  if (size === 36) return { lease: true };
  if (size !== 24) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `StructureSize ${size}`);
  const level = r.u8('OplockLevel');
  r.skip(1, 'Reserved');
  r.skip(4, 'Reserved2');
  return { lease: false, level, fileId: readFileId(r) };
}

/**
 * §3.3.5.22: the acknowledgment of a break this server sent (oplocks.ts). No leases are
 * granted, so a lease break acknowledgment names nothing (§3.3.5.22.2: no such lease).
 */
export async function handleOplockBreak(
  ctx: RequestContext,
  req: OplockBreakRequest,
): Promise<OplockBreakResponse> {
  if (req.lease) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, 'no leases are granted');
  const open = ctx.open(req.fileId);
  return { level: acknowledgeBreak(open, req.level), fileId: open.fileId };
}

/** §2.2.25 (the acknowledgment's response) and §2.2.23.1 (the break notification): one layout. */
export function encodeOplockBreak(res: OplockBreakResponse): Buffer {
  return new Writer(24)
    .u16(24)
    .u8(res.level)
    .u8(0)
    .u32(0)
    .u64(res.fileId.persistent)
    .u64(res.fileId.volatile)
    .finish();
}
