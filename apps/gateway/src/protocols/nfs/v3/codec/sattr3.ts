import type { SetAttributes } from '../../../../storage/types.ts';
import type { XdrReader } from '../../../xdr/reader.ts';
import { TimeHow } from '../constants.ts';
import type { Sattr3, SetTime } from '../types.ts';
import { decodeNfsTime, nfsTimeToNs } from './common.ts';

const TIME_HOW: ReadonlySet<number> = new Set(Object.values(TimeHow));

function decodeSetTime(r: XdrReader, field: string): SetTime | undefined {
  const how = r.enumOf<number>(`${field}.set_it`, TIME_HOW);
  if (how === TimeHow.DONT_CHANGE) return undefined;
  if (how === TimeHow.SET_TO_SERVER_TIME) return 'server';
  return decodeNfsTime(r, field);
}

/** sattr3 (RFC 1813 §2.5). */
export function decodeSattr3(r: XdrReader, field: string): Sattr3 {
  const mode = r.optional(`${field}.mode`, () => r.uint32(`${field}.mode`));
  const uid = r.optional(`${field}.uid`, () => r.uint32(`${field}.uid`));
  const gid = r.optional(`${field}.gid`, () => r.uint32(`${field}.gid`));
  const size = r.optional(`${field}.size`, () => r.uint64(`${field}.size`));
  const atime = decodeSetTime(r, `${field}.atime`);
  const mtime = decodeSetTime(r, `${field}.mtime`);
  const s: { -readonly [K in keyof Sattr3]: Sattr3[K] } = {};
  if (mode !== undefined) s.mode = mode;
  if (uid !== undefined) s.uid = uid;
  if (gid !== undefined) s.gid = gid;
  if (size !== undefined) s.size = size;
  if (atime !== undefined) s.atime = atime;
  if (mtime !== undefined) s.mtime = mtime;
  return s;
}

/** True when some client time has nanoseconds of a second or more (NFS3ERR_INVAL). */
export function hasBadTime(s: Sattr3): boolean {
  return [s.atime, s.mtime].some((t) => t !== undefined && t !== 'server' && t.nseconds >= 1_000_000_000);
}

/** The namespace's form of a sattr3 (mode masked to permission bits by the namespace). */
export function toSetAttributes(s: Sattr3): SetAttributes {
  const out: SetAttributes = {};
  if (s.mode !== undefined) out.mode = s.mode & 0o7777;
  if (s.uid !== undefined) out.uid = s.uid;
  if (s.gid !== undefined) out.gid = s.gid;
  if (s.size !== undefined) out.size = s.size;
  if (s.atime !== undefined) out.atimeNs = s.atime === 'server' ? 'now' : nfsTimeToNs(s.atime);
  if (s.mtime !== undefined) out.mtimeNs = s.mtime === 'server' ? 'now' : nfsTimeToNs(s.mtime);
  return out;
}

export function isEmptySattr(s: Sattr3): boolean {
  return Object.keys(s).length === 0;
}
