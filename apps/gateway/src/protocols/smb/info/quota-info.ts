import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { readSid, type Sid, sidBytes } from '../sids.ts';
import { Writer } from '../wire/writer.ts';

/** "No limit" in FILE_QUOTA_INFORMATION and FILE_FS_CONTROL_INFORMATION (MS-FSCC §2.4.41, §2.5.2). */
export const NO_LIMIT = 0xffff_ffff_ffff_ffffn;

/** One user's entry of the volume's quota list (MS-FSCC §2.4.41 FILE_QUOTA_INFORMATION). */
export interface QuotaEntry {
  sid: Sid;
  /** FILETIME of the entry's last change. */
  changeTime: bigint;
  used: bigint;
  /** The warning level: the soft limit, or NO_LIMIT. */
  threshold: bigint;
  /** The hard limit, or NO_LIMIT. */
  limit: bigint;
}

/** MS-SMB2 §2.2.37.1 SMB2_QUERY_QUOTA_INFO: a list of SIDs, a SID to start from, or neither. */
export interface QuotaQuery {
  returnSingle: boolean;
  restartScan: boolean;
  sids: Sid[] | undefined;
  startSid: Sid | undefined;
}

const MAX_SIDS = 1024;
const invalid = (why: string) => new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `quota query: ${why}`);

export function decodeQuotaQuery(input: Buffer): QuotaQuery {
  if (input.length < 16) throw invalid('shorter than SMB2_QUERY_QUOTA_INFO');
  const returnSingle = input[0] !== 0;
  const restartScan = input[1] !== 0;
  const sidListLength = input.readUInt32LE(4);
  const startSidLength = input.readUInt32LE(8);
  const startSidOffset = input.readUInt32LE(12);
  const buffer = input.subarray(16);
  if (sidListLength !== 0) {
    // §3.3.5.20.4: a SID list wins over a start SID.
    if (sidListLength > buffer.length) throw invalid('SidListLength past the buffer');
    return {
      returnSingle,
      restartScan,
      sids: decodeSidList(buffer.subarray(0, sidListLength)),
      startSid: undefined,
    };
  }
  if (startSidLength === 0) return { returnSingle, restartScan, sids: undefined, startSid: undefined };
  if (startSidOffset + startSidLength > buffer.length) throw invalid('StartSid past the buffer');
  const startSid = readSid(buffer.subarray(startSidOffset, startSidOffset + startSidLength), 0);
  if (!startSid) throw new SmbError(NT_STATUS.STATUS_INVALID_SID, 'quota query: StartSid');
  return { returnSingle, restartScan, sids: undefined, startSid };
}

/**
 * The SIDs of a list of entries linked by NextEntryOffset, each a NextEntryOffset, a SidLength
 * and, `sidAt` bytes in, the SID; each next entry `align`-aligned past the one before.
 */
function chainedSids(buf: Buffer, sidAt: number, align: number): Array<{ at: number; sid: Sid }> {
  const out: Array<{ at: number; sid: Sid }> = [];
  let off = 0;
  for (;;) {
    if (out.length >= MAX_SIDS) throw invalid('too many entries');
    if (buf.length - off < sidAt) throw invalid('entry shorter than its header');
    const next = buf.readUInt32LE(off);
    const sidLength = buf.readUInt32LE(off + 4);
    const end = off + sidAt + sidLength;
    if (end > buf.length) throw invalid('SID past the buffer');
    if (next !== 0 && (next < end - off || next % align !== 0 || off + next >= buf.length))
      throw invalid('NextEntryOffset');
    const sid = readSid(buf.subarray(off + sidAt, end), 0);
    if (!sid || sidBytes(sid).length !== sidLength) throw invalid('malformed SID');
    out.push({ at: off, sid });
    if (next === 0) return out;
    off += next;
  }
}

/** FILE_GET_QUOTA_INFORMATION entries (MS-FSCC §2.4.41.1). */
function decodeSidList(buf: Buffer): Sid[] {
  return chainedSids(buf, 8, 4).map((e) => e.sid);
}

/** FILE_QUOTA_INFORMATION entries (MS-FSCC §2.4.41) as SET_INFO sends them: SID, threshold, limit. */
export function decodeQuotaEntries(buf: Buffer): Array<Pick<QuotaEntry, 'sid' | 'threshold' | 'limit'>> {
  return chainedSids(buf, 40, 8).map(({ at, sid }) => ({
    sid,
    threshold: buf.readBigUInt64LE(at + 24),
    limit: buf.readBigUInt64LE(at + 32),
  }));
}

/**
 * As many entries as fit in `max` bytes (one when `single`), each 8-byte aligned, linked by
 * NextEntryOffset. `count` says how many went in.
 */
export function encodeQuotaEntries(
  entries: readonly QuotaEntry[],
  max: number,
  single: boolean,
): { buffer: Buffer; count: number } {
  const w = new Writer(64);
  let last = -1;
  let count = 0;
  for (const e of entries) {
    const sid = sidBytes(e.sid);
    const start = (w.length + 7) & ~7;
    if (start + 40 + sid.length > max) break;
    w.align(8);
    if (last >= 0) w.at(last).u32(w.length - last);
    last = w.length;
    w.u32(0).u32(sid.length).u64(e.changeTime).u64(e.used).u64(e.threshold).u64(e.limit).bytes(sid);
    count++;
    if (single) break;
  }
  return { buffer: w.finish(), count };
}
