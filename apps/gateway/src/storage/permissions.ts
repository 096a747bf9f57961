import { fsError } from './errors.ts';
import {
  type Attributes,
  type Credential,
  IMMUTABLE_FOREVER,
  isImmutable,
  KEPT_VERSION_HOLD,
} from './types.ts';

export const R_OK = 4;
export const W_OK = 2;
export const X_OK = 1;

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

export function inGroup(cred: Credential, gid: number): boolean {
  return cred.gid === gid || cred.gids.includes(gid);
}

type Owned = Pick<Attributes, 'uid' | 'gid' | 'mode' | 'type'>;

/**
 * The rwx bits the credential holds on an inode (POSIX: the first matching class wins —
 * owner, then group, then other; root reads and writes anything and executes when any x bit
 * is set or the inode is a directory; an owner under NFS's owner override reads and writes).
 */
export function effectiveAccess(cred: Credential, node: Owned): number {
  if (cred.uid === 0) {
    const anyX = (node.mode & 0o111) !== 0 || node.type === 'dir';
    return R_OK | W_OK | (anyX ? X_OK : 0);
  }
  if (cred.uid === node.uid) return ((node.mode >> 6) & 7) | (cred.ownerOverride ? R_OK | W_OK : 0);
  if (inGroup(cred, node.gid)) return (node.mode >> 3) & 7;
  return node.mode & 7;
}

export function requireAccess(cred: Credential, node: Owned, wanted: number, subject?: string): void {
  if ((effectiveAccess(cred, node) & wanted) !== wanted) {
    throw fsError('EACCES', `permission denied (need ${describe(wanted)})`, subject);
  }
}

/** Removing or renaming an entry of a sticky directory needs ownership of entry or directory. */
export function requireStickyRight(cred: Credential, dir: Owned, entry: Owned, subject?: string): void {
  if ((dir.mode & S_ISVTX) === 0 || cred.uid === 0) return;
  if (cred.uid === entry.uid || cred.uid === dir.uid) return;
  // EPERM, as Linux answers a sticky directory's refusal (not EACCES: the caller may write it).
  throw fsError('EPERM', 'sticky directory: only the owner may remove or rename', subject);
}

/**
 * A mode without the bits that grant privilege: setuid, and setgid where group execute is set
 * (setgid without it marks mandatory locking, not a privilege) — what a change of owner or
 * group leaves on a file, as Linux does.
 */
export function withoutPrivileges(mode: number): number {
  const m = mode & ~S_ISUID;
  return m & 0o010 ? m & ~S_ISGID : m;
}

/**
 * The mode a write or a truncation by `cred` leaves a file with (Linux's should_remove_suid):
 * root's keeps its setuid and setgid bits; anyone else's drops them, so a user allowed to
 * write a setuid program cannot plant code that runs as its owner.
 */
export function modeAfterWrite(cred: Credential, mode: number): number {
  return cred.uid === 0 ? mode : withoutPrivileges(mode);
}

export function isOwnerOrRoot(cred: Credential, node: Owned): boolean {
  return cred.uid === 0 || cred.uid === node.uid;
}

function describe(bits: number): string {
  return `${bits & R_OK ? 'r' : '-'}${bits & W_OK ? 'w' : '-'}${bits & X_OK ? 'x' : '-'}`;
}

/**
 * Refuses (EPERM, as Linux refuses a `chattr +i` file) a change to an immutable file's bytes,
 * attributes or last name — whoever asks, root included: S3 Object Lock's promise.
 */
export function requireMutable(
  node: Pick<Attributes, 'immutableUntilNs'>,
  nowNs: bigint,
  subject?: string,
): void {
  if (!isImmutable(node, nowNs)) return;
  if (node.immutableUntilNs === KEPT_VERSION_HOLD)
    throw fsError('EPERM', 'read-only: an S3 version kept when its object was replaced or deleted', subject);
  const until =
    node.immutableUntilNs === IMMUTABLE_FOREVER
      ? 'under a legal hold'
      : `until ${new Date(Number(node.immutableUntilNs / 1_000_000n)).toISOString()}`;
  throw fsError('EPERM', `immutable (object lock) ${until}`, subject);
}
