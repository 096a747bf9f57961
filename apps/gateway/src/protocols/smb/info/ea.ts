import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { Writer } from '../wire/writer.ts';

export interface ExtendedAttribute {
  name: string;
  value: Buffer;
  flags: number;
}

/** Characters an EA name may not hold (MS-FSCC §2.4.15: the NTFS name rules, and no spaces at all). */
const BAD_EA_CHAR = /["*+,/:;<=>?[\\\]|]/;
const badEaName = (n: string) => BAD_EA_CHAR.test(n) || [...n].some((c) => c.charCodeAt(0) < 0x20);

/** FILE_FULL_EA_INFORMATION entries (MS-FSCC §2.4.15), each 4-aligned; STATUS_EA_LIST_INCONSISTENT when malformed. */
export function decodeEaList(buf: Buffer): ExtendedAttribute[] {
  const out: ExtendedAttribute[] = [];
  const bad = (why: string) => new SmbError(NT_STATUS.STATUS_EA_LIST_INCONSISTENT, `EA list: ${why}`);
  let off = 0;
  while (off < buf.length) {
    if (out.length >= 1024) throw bad('too many entries');
    if (buf.length - off < 8) throw bad('entry shorter than its header');
    const next = buf.readUInt32LE(off);
    const flags = buf[off + 4]!;
    const nameLength = buf[off + 5]!;
    const valueLength = buf.readUInt16LE(off + 6);
    const end = off + 8 + nameLength + 1 + valueLength;
    if (end > buf.length || (next !== 0 && (next < end - off || off + next > buf.length || next % 4 !== 0)))
      throw bad('entry past its end');
    if (buf[off + 8 + nameLength] !== 0) throw bad('name not NUL-terminated');
    const name = buf.toString('latin1', off + 8, off + 8 + nameLength);
    if (name === '' || badEaName(name))
      throw new SmbError(NT_STATUS.STATUS_INVALID_EA_NAME, `EA name '${name}'`);
    out.push({ name, flags, value: Buffer.from(buf.subarray(off + 9 + nameLength, end)) });
    if (next === 0) break;
    off += next;
  }
  return out;
}

export function encodeEaList(eas: readonly ExtendedAttribute[]): Buffer {
  const w = new Writer(64);
  let last = -1;
  for (const ea of eas) {
    w.align(4);
    if (last >= 0) w.at(last).u32(w.length - last);
    last = w.length;
    const name = Buffer.from(ea.name, 'latin1');
    w.u32(0).u8(ea.flags).u8(name.length).u16(ea.value.length).bytes(name).u8(0).bytes(ea.value);
  }
  return w.finish();
}
