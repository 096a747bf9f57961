import type { Attributes } from '../../../storage/types.ts';
import { EVERYONE, gidSid, type Sid, sidBytes, uidSid } from '../sids.ts';

/** SECURITY_INFORMATION bits of AdditionalInformation (MS-DTYP §2.4.7). */
export const SECINFO = { OWNER: 0x1, GROUP: 0x2, DACL: 0x4, SACL: 0x8 } as const;

const SE_DACL_PRESENT = 0x0004;
const SE_SELF_RELATIVE = 0x8000;
const ACCESS_ALLOWED_ACE = 0x00;
const CONTAINER_INHERIT = 0x02;
const OBJECT_INHERIT = 0x01;

/** NT rights one rwx triplet stands for (Samba's map from POSIX ACL bits). */
function rights(bits: number, dir: boolean): number {
  let m = 0x0012_0080; // READ_CONTROL | SYNCHRONIZE | FILE_READ_ATTRIBUTES
  if (bits & 4) m |= 0x0000_0009; // FILE_READ_DATA | FILE_READ_EA
  if (bits & 2) m |= 0x0000_0116 | (dir ? 0x40 : 0); // write data/append/EA/attributes (+ delete child)
  if (bits & 1) m |= 0x0000_0020; // FILE_EXECUTE
  return m;
}

function ace(sid: Sid, mask: number, flags: number): Buffer {
  const s = sidBytes(sid);
  const b = Buffer.alloc(8 + s.length);
  b[0] = ACCESS_ALLOWED_ACE;
  b[1] = flags;
  b.writeUInt16LE(b.length, 2);
  b.writeUInt32LE(mask >>> 0, 4);
  s.copy(b, 8);
  return b;
}

/**
 * A self-relative SECURITY_DESCRIPTOR derived from owner, group and mode: owner S-1-22-1-uid,
 * group S-1-22-2-gid, a DACL allowing owner, group and Everyone what their mode bits allow
 * (the owner also WRITE_DAC, WRITE_OWNER and DELETE). No SACL is kept.
 */
export function securityDescriptor(a: Attributes, wanted: number): Buffer {
  const dir = a.type === 'dir';
  const owner = wanted & SECINFO.OWNER ? sidBytes(uidSid(a.uid)) : undefined;
  const group = wanted & SECINFO.GROUP ? sidBytes(gidSid(a.gid)) : undefined;
  let dacl: Buffer | undefined;
  if (wanted & SECINFO.DACL) {
    const inherit = dir ? CONTAINER_INHERIT | OBJECT_INHERIT : 0;
    const aces = [
      ace(uidSid(a.uid), rights((a.mode >> 6) & 7, dir) | 0x000d_0000, inherit),
      ace(gidSid(a.gid), rights((a.mode >> 3) & 7, dir), inherit),
      ace(EVERYONE, rights(a.mode & 7, dir), inherit),
    ];
    const body = Buffer.concat(aces);
    const head = Buffer.alloc(8);
    head[0] = 2; // ACL_REVISION
    head.writeUInt16LE(8 + body.length, 2);
    head.writeUInt16LE(aces.length, 4);
    dacl = Buffer.concat([head, body]);
  }
  const h = Buffer.alloc(20);
  h[0] = 1;
  h.writeUInt16LE(SE_SELF_RELATIVE | (dacl ? SE_DACL_PRESENT : 0), 2);
  let at = 20;
  const parts: Buffer[] = [h];
  const place = (b: Buffer | undefined, field: number) => {
    if (!b) return;
    h.writeUInt32LE(at, field);
    parts.push(b);
    at += b.length;
  };
  place(owner, 4);
  place(group, 8);
  place(dacl, 16);
  return Buffer.concat(parts);
}
