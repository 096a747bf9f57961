import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import type { Lease } from '../leases.ts';
import type { FileId } from '../open-files.ts';
import { acknowledgeLeaseBreak, acknowledgeOplockBreak } from '../oplocks.ts';
import type { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { readFileId } from './file-id.ts';

export type OplockBreakRequest =
  | { lease: true; key: Buffer; state: number }
  | { lease: false; level: number; fileId: FileId };

export type OplockBreakResponse =
  | { lease: true; key: Buffer; state: number }
  | { lease: false; level: number; fileId: FileId };

/** MS-SMB2 §2.2.24.1 (oplock break acknowledgment, 24 bytes) and §2.2.24.2 (lease, 36 bytes). */
export function decodeOplockBreak(r: Reader): OplockBreakRequest {
  const size = r.u16('StructureSize');
  if (size === 36) {
    r.skip(2, 'Reserved');
    r.skip(4, 'Flags');
    const key = Buffer.from(r.bytes(16, 'LeaseKey'));
    const state = r.u32('LeaseState');
    r.skip(8, 'LeaseDuration');
    return { lease: true, key, state };
  }
  if (size !== 24) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `StructureSize ${size}`);
  const level = r.u8('OplockLevel');
  r.skip(1, 'Reserved');
  r.skip(4, 'Reserved2');
  return { lease: false, level, fileId: readFileId(r) };
}

/** §3.3.5.22: the acknowledgment of a break this server sent (oplocks.ts). */
export async function handleOplockBreak(
  ctx: RequestContext,
  req: OplockBreakRequest,
): Promise<OplockBreakResponse> {
  if (req.lease) {
    const state = acknowledgeLeaseBreak(ctx.env, ctx.conn.clientGuid, req.key, req.state);
    return { lease: true, key: req.key, state };
  }
  const open = ctx.open(req.fileId);
  return { lease: false, level: acknowledgeOplockBreak(ctx.env, open, req.level), fileId: open.fileId };
}

/**
 * §2.2.25.1 (an oplock acknowledgment's response, one layout with the §2.2.23.1 break
 * notification) and §2.2.25.2 (a lease acknowledgment's response).
 */
export function encodeOplockBreak(res: OplockBreakResponse): Buffer {
  if (res.lease) return new Writer(36).u16(36).u16(0).u32(0).bytes(res.key).u32(res.state).u64(0n).finish();
  return new Writer(24)
    .u16(24)
    .u8(res.level)
    .u8(0)
    .u32(0)
    .u64(res.fileId.persistent)
    .u64(res.fileId.volatile)
    .finish();
}

/** SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED (§2.2.23.2). */
const ACK_REQUIRED = 0x1;

/** §2.2.23.2: a lease break notification (NewEpoch only for a v2 lease). */
export function encodeLeaseBreakNotification(
  lease: Lease,
  b: { from: number; to: number; ackRequired: boolean },
): Buffer {
  return new Writer(44)
    .u16(44)
    .u16(lease.version === 2 ? lease.epoch & 0xffff : 0)
    .u32(b.ackRequired ? ACK_REQUIRED : 0)
    .bytes(lease.key)
    .u32(b.from)
    .u32(b.to)
    .u32(0)
    .u32(0)
    .u32(0)
    .finish();
}
