import type { Attributes } from '../../../storage/types.ts';
import type { Ace } from '../info/security.ts';
import type { Sid } from '../sids.ts';
import { TYPE_BITS } from './readdir-attr.ts';

/**
 * Apple's NFS_ACE capability (apple/aapl.ts): with AAPL on, a file's DACL also carries its
 * mode, owner and group as Microsoft's "NFS" SIDs in deny entries that deny nothing —
 * S-1-5-88-3-<mode>, S-1-5-88-1-<uid>, S-1-5-88-2-<gid> — and a DACL set with an S-1-5-88-3
 * entry sets the permission bits from it. How macOS shows and changes Unix permissions over
 * SMB (Samba's vfs_fruit does the same; `fruit:nfs_aces`).
 */
const NFS_AUTHORITY = 5;
const NFS_RID = 88;
const KIND = { users: 1, groups: 2, mode: 3 } as const;

const nfsSid = (kind: number, value: number): Sid => ({
  authority: NFS_AUTHORITY,
  subAuthorities: [NFS_RID, kind, value >>> 0],
});

const isNfsSid = (s: Sid): boolean => s.authority === NFS_AUTHORITY && s.subAuthorities[0] === NFS_RID;

/** The three SIDs a file's DACL carries, in Samba's order: mode (with its type bits), uid, gid. */
export function nfsAceSids(a: Attributes): Sid[] {
  return [
    nfsSid(KIND.mode, TYPE_BITS[a.type] | a.mode),
    nfsSid(KIND.users, a.uid),
    nfsSid(KIND.groups, a.gid),
  ];
}

/**
 * A DACL as set, without its NFS entries (every S-1-5-88 one: they describe, they grant
 * nothing), and the permission bits its S-1-5-88-3 entry asks for, if any.
 */
export function takeNfsAces(dacl: Ace[]): { dacl: Ace[]; mode: number | undefined } {
  const modeAce = dacl.find((a) => isNfsSid(a.sid) && a.sid.subAuthorities[1] === KIND.mode);
  const mode = modeAce?.sid.subAuthorities[2];
  return {
    dacl: dacl.filter((a) => !isNfsSid(a.sid)),
    mode: mode === undefined ? undefined : mode & 0o777,
  };
}
