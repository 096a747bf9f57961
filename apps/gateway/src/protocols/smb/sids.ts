/**
 * SIDs for POSIX identities (MS-DTYP §2.4.2), as Samba's idmap for unmapped Unix ids does:
 * S-1-22-1-<uid> for users, S-1-22-2-<gid> for groups; S-1-1-0 is Everyone.
 */
export interface Sid {
  authority: number;
  subAuthorities: number[];
}

export const EVERYONE: Sid = { authority: 1, subAuthorities: [0] };
export const uidSid = (uid: number): Sid => ({ authority: 22, subAuthorities: [1, uid] });
export const gidSid = (gid: number): Sid => ({ authority: 22, subAuthorities: [2, gid] });

export function sidBytes(s: Sid): Buffer {
  const b = Buffer.alloc(8 + 4 * s.subAuthorities.length);
  b[0] = 1;
  b[1] = s.subAuthorities.length;
  b.writeUIntBE(s.authority, 2, 6);
  s.subAuthorities.forEach((v, i) => {
    b.writeUInt32LE(v >>> 0, 8 + 4 * i);
  });
  return b;
}

export function sidString(s: Sid): string {
  return `S-1-${s.authority}-${s.subAuthorities.join('-')}`;
}

/** Parses a SID at `at`; undefined when malformed or past the buffer. */
export function readSid(b: Buffer, at: number): Sid | undefined {
  if (at < 0 || at + 8 > b.length || b[at] !== 1) return undefined;
  const n = b[at + 1]!;
  if (n > 15 || at + 8 + 4 * n > b.length) return undefined;
  const subAuthorities = Array.from({ length: n }, (_, i) => b.readUInt32LE(at + 8 + 4 * i));
  return { authority: b.readUIntBE(at + 2, 6), subAuthorities };
}

/** The uid or gid a S-1-22 SID names. */
export function posixIdOf(s: Sid): { kind: 'uid' | 'gid'; id: number } | undefined {
  if (s.authority !== 22 || s.subAuthorities.length !== 2) return undefined;
  const [kind, id] = s.subAuthorities as [number, number];
  if (kind === 1) return { kind: 'uid', id };
  if (kind === 2) return { kind: 'gid', id };
  return undefined;
}
