import type { Attributes } from '../../../storage/types.ts';
import { nfsAceSids } from '../apple/nfs-aces.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { EVERYONE, gidSid, posixIdOf, readSid, type Sid, sidBytes, sidString, uidSid } from '../sids.ts';

/** SECURITY_INFORMATION bits of AdditionalInformation (MS-DTYP §2.4.7). */
export const SECINFO = { OWNER: 0x1, GROUP: 0x2, DACL: 0x4, SACL: 0x8 } as const;

const SE_DACL_PRESENT = 0x0004;
const SE_SELF_RELATIVE = 0x8000;
const ACCESS_ALLOWED_ACE = 0x00;
const ACCESS_DENIED_ACE = 0x01;
const CONTAINER_INHERIT = 0x02;
const OBJECT_INHERIT = 0x01;
const INHERIT_ONLY = 0x08;

/** NT rights one rwx triplet stands for (Samba's map from POSIX ACL bits). */
function rights(bits: number, dir: boolean): number {
  let m = 0x0012_0080; // READ_CONTROL | SYNCHRONIZE | FILE_READ_ATTRIBUTES
  if (bits & 4) m |= 0x0000_0009; // FILE_READ_DATA | FILE_READ_EA
  if (bits & 2) m |= 0x0000_0116 | (dir ? 0x40 : 0); // write data/append/EA/attributes (+ delete child)
  if (bits & 1) m |= 0x0000_0020; // FILE_EXECUTE
  return m;
}

function ace(sid: Sid, mask: number, flags: number, type = ACCESS_ALLOWED_ACE): Buffer {
  const s = sidBytes(sid);
  const b = Buffer.alloc(8 + s.length);
  b[0] = type;
  b[1] = flags;
  b.writeUInt16LE(b.length, 2);
  b.writeUInt32LE(mask >>> 0, 4);
  s.copy(b, 8);
  return b;
}

/**
 * A self-relative SECURITY_DESCRIPTOR derived from owner, group and mode: owner S-1-22-1-uid,
 * group S-1-22-2-gid, a DACL allowing owner, group and Everyone what their mode bits allow
 * (the owner also WRITE_DAC, WRITE_OWNER and DELETE). No SACL is kept. With `nfsAces` (Apple's
 * NFS_ACE, apple/nfs-aces.ts) the DACL ends with the mode, uid and gid as deny-nothing entries.
 */
export function securityDescriptor(a: Attributes, wanted: number, nfsAces = false): Buffer {
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
      ...(nfsAces ? nfsAceSids(a).map((sid) => ace(sid, 0, 0, ACCESS_DENIED_ACE)) : []),
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

/** A security descriptor as SET_INFO carries it: what it names; `dacl` null for a NULL DACL. */
export interface SecurityUpdate {
  owner: Sid | undefined;
  group: Sid | undefined;
  dacl: Ace[] | null | undefined;
}

export interface Ace {
  type: number;
  flags: number;
  mask: number;
  sid: Sid;
}

const malformed = (why: string) => new SmbError(NT_STATUS.STATUS_INVALID_SECURITY_DESCR, why);

/** A self-relative SECURITY_DESCRIPTOR (MS-DTYP §2.4.6), every offset and length checked. */
export function parseSecurityDescriptor(b: Buffer): SecurityUpdate {
  if (b.length < 20 || b[0] !== 1) throw malformed('not a revision 1 security descriptor');
  const control = b.readUInt16LE(2);
  if (!(control & SE_SELF_RELATIVE)) throw malformed('not self-relative');
  const sidAt = (field: number, what: string): Sid | undefined => {
    const at = b.readUInt32LE(field);
    if (at === 0) return undefined;
    const sid = at >= 20 ? readSid(b, at) : undefined;
    if (!sid) throw malformed(`${what} SID`);
    return sid;
  };
  const owner = sidAt(4, 'owner');
  const group = sidAt(8, 'group');
  let dacl: Ace[] | null | undefined;
  if (control & SE_DACL_PRESENT) {
    const at = b.readUInt32LE(16);
    dacl = at === 0 ? null : parseAcl(b, at);
  }
  return { owner, group, dacl };
}

function parseAcl(b: Buffer, at: number): Ace[] {
  if (at < 20 || at + 8 > b.length) throw malformed('DACL outside the descriptor');
  const revision = b[at]!;
  const size = b.readUInt16LE(at + 2);
  const count = b.readUInt16LE(at + 4);
  // ACL_REVISION (2), ACL_REVISION3 (what smbcacls sends) and ACL_REVISION_DS (4), as Windows accepts.
  if (revision < 2 || revision > 4 || size < 8 || at + size > b.length) throw malformed('DACL header');
  const aces: Ace[] = [];
  let p = at + 8;
  for (let i = 0; i < count; i++) {
    if (p + 8 > at + size) throw malformed(`ACE ${i} outside the DACL`);
    const type = b[p]!;
    const flags = b[p + 1]!;
    const aceSize = b.readUInt16LE(p + 2);
    if (aceSize < 16 || p + aceSize > at + size) throw malformed(`ACE ${i} size`);
    const sid = readSid(b.subarray(p, p + aceSize), 8);
    if ((type === ACCESS_ALLOWED_ACE || type === ACCESS_DENIED_ACE) && !sid) throw malformed(`ACE ${i} SID`);
    aces.push({ type, flags, mask: b.readUInt32LE(p + 4), sid: sid ?? EVERYONE });
    p += aceSize;
  }
  return aces;
}

const GENERIC_ALL = 0x1000_0000;
const GENERIC_EXECUTE = 0x2000_0000;
const GENERIC_WRITE = 0x4000_0000;
const GENERIC_READ = 0x8000_0000;

/** The rwx bits an ACE's mask grants: read data, write or append data, execute (generic rights too). */
function bitsOf(mask: number): number {
  let bits = 0;
  if (mask & (0x1 | GENERIC_READ | GENERIC_ALL)) bits |= 4;
  if (mask & (0x2 | 0x4 | GENERIC_WRITE | GENERIC_ALL)) bits |= 2;
  if (mask & (0x20 | GENERIC_EXECUTE | GENERIC_ALL)) bits |= 1;
  return bits;
}

/**
 * The mode a DACL stands for, as Samba maps an NT ACL onto a file without POSIX ACLs: the
 * owner's, the group's and Everyone's allow entries become the rwx triplets (what no entry
 * grants is cleared; setuid, setgid and sticky bits stay). As in Windows, Everyone includes the
 * owner and the group: one without an entry of its own gets Everyone's rights (the owner keeps
 * its own too). And as Samba's ensure_minimal_owner_ace_perms does, the owner keeps read, and
 * on a folder read, write and execute, so a DACL cannot lock an owner out of their own folder
 * (its files could no longer be listed or deleted). Inherit-only entries (CREATOR OWNER and
 * the like, which describe what children get) are passed over: a new file's mode comes from its
 * creator, as always. What mode bits cannot hold — a deny entry, an entry for anyone else, a
 * NULL DACL granting everything — is STATUS_NOT_SUPPORTED, and nothing changes.
 */
export function modeFromDacl(
  dacl: Ace[] | null,
  owner: number,
  group: number,
  mode: number,
  dir = false,
): number {
  if (dacl === null) throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, 'a NULL DACL (everyone, everything)');
  let user: number | undefined;
  let grp: number | undefined;
  let other = 0;
  for (const a of dacl) {
    if (a.flags & INHERIT_ONLY) continue;
    if (a.type !== ACCESS_ALLOWED_ACE) {
      throw new SmbError(
        NT_STATUS.STATUS_NOT_SUPPORTED,
        `${a.type === ACCESS_DENIED_ACE ? 'a deny' : `an ACE of type ${a.type}`} entry for ${sidString(a.sid)}: mode bits only allow`,
      );
    }
    const id = posixIdOf(a.sid);
    if (id?.kind === 'uid' && id.id === owner) user = (user ?? 0) | bitsOf(a.mask);
    else if (id?.kind === 'gid' && id.id === group) grp = (grp ?? 0) | bitsOf(a.mask);
    else if (sidString(a.sid) === sidString(EVERYONE)) other |= bitsOf(a.mask);
    else {
      throw new SmbError(
        NT_STATUS.STATUS_NOT_SUPPORTED,
        `an entry for ${sidString(a.sid)}: mode bits hold the owner, the group and Everyone only`,
      );
    }
  }
  const ownerBits = (user ?? ((mode >> 6) & 7) | other) | (dir ? 7 : 4);
  return (mode & 0o7000) | (ownerBits << 6) | ((grp ?? other) << 3) | other;
}
