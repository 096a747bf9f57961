import { effectiveAccess, R_OK, S_ISVTX, W_OK, X_OK } from '../../storage/permissions.ts';
import type { Attributes, Credential } from '../../storage/types.ts';
import {
  ACCESS,
  FILE_ALL_ACCESS,
  FILE_GENERIC_EXECUTE,
  FILE_GENERIC_READ,
  FILE_GENERIC_WRITE,
} from './constants.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';

/** Access bits that change something: refused on a read-only share. */
export const WRITE_ACCESS =
  ACCESS.FILE_WRITE_DATA |
  ACCESS.FILE_APPEND_DATA |
  ACCESS.FILE_WRITE_EA |
  ACCESS.FILE_WRITE_ATTRIBUTES |
  ACCESS.FILE_DELETE_CHILD |
  ACCESS.DELETE |
  ACCESS.WRITE_DAC |
  ACCESS.WRITE_OWNER;

/** Bits outside what an access mask may hold (MS-SMB2 §2.2.13.1.1). */
const INVALID_ACCESS = 0x0ce0_fe00;

export function invalidAccessMask(mask: number): boolean {
  return (mask & INVALID_ACCESS) !== 0;
}

/** GENERIC_* mapped to file rights (MS-SMB2 §2.2.13.1.1). MAXIMUM_ALLOWED is kept. */
export function mapGeneric(mask: number): number {
  let m = mask & ~(ACCESS.GENERIC_ALL | ACCESS.GENERIC_EXECUTE | ACCESS.GENERIC_WRITE | ACCESS.GENERIC_READ);
  if (mask & ACCESS.GENERIC_ALL) m |= FILE_ALL_ACCESS;
  if (mask & ACCESS.GENERIC_READ) m |= FILE_GENERIC_READ;
  if (mask & ACCESS.GENERIC_WRITE) m |= FILE_GENERIC_WRITE;
  if (mask & ACCESS.GENERIC_EXECUTE) m |= FILE_GENERIC_EXECUTE;
  return m >>> 0;
}

/** Whether the credential may unlink `entry` from `dir` (w+x on the directory, sticky rule). */
export function mayDelete(cred: Credential, dir: Attributes, entry: Attributes): boolean {
  if ((effectiveAccess(cred, dir) & (W_OK | X_OK)) !== (W_OK | X_OK)) return false;
  if ((dir.mode & S_ISVTX) === 0 || cred.uid === 0) return true;
  return cred.uid === entry.uid || cred.uid === dir.uid;
}

/**
 * The rights POSIX mode bits give the credential on an existing inode, in NT terms (what Samba
 * derives from the mode when no ACL is stored): r → read data/EA, w → write data/EA/append
 * and delete-child, x → traverse. An SMB client runs what it reads on its own machine, so
 * FILE_EXECUTE of a file follows r (clients open with FILE_ALL_ACCESS routinely). Owners (and
 * root) may change attributes, DACL and owner; DELETE follows the parent directory (none for
 * a share root).
 */
export function maximalAccess(cred: Credential, a: Attributes, parent: Attributes | undefined): number {
  const rwx = effectiveAccess(cred, a);
  const owner = cred.uid === 0 || cred.uid === a.uid;
  let m = ACCESS.READ_CONTROL | ACCESS.SYNCHRONIZE | ACCESS.FILE_READ_ATTRIBUTES;
  if (rwx & R_OK)
    m |= ACCESS.FILE_READ_DATA | ACCESS.FILE_READ_EA | (a.type === 'dir' ? 0 : ACCESS.FILE_EXECUTE);
  if (rwx & W_OK) {
    m |=
      ACCESS.FILE_WRITE_DATA | ACCESS.FILE_APPEND_DATA | ACCESS.FILE_WRITE_EA | ACCESS.FILE_WRITE_ATTRIBUTES;
    m |= ACCESS.FILE_DELETE_CHILD;
  }
  if (rwx & X_OK) m |= ACCESS.FILE_EXECUTE;
  if (owner) m |= ACCESS.FILE_WRITE_ATTRIBUTES | ACCESS.WRITE_DAC | ACCESS.WRITE_OWNER;
  if (parent !== undefined && mayDelete(cred, parent, a)) m |= ACCESS.DELETE;
  return m >>> 0;
}

/** What the share allows at most. */
export function shareLimit(readOnly: boolean): number {
  return readOnly ? FILE_ALL_ACCESS & ~WRITE_ACCESS : FILE_ALL_ACCESS;
}

/**
 * The access an open of an existing file (or of one of its streams) gets, MS-FSA §2.1.5.1.2:
 * what was asked — with FILE_WRITE_DATA when it overwrites — or with MAXIMUM_ALLOWED all of
 * `max`; asking beyond `max` is STATUS_ACCESS_DENIED. A read-only file refuses writes
 * (MAXIMUM_ALLOWED leaves them out) and delete on close (STATUS_CANNOT_DELETE).
 */
export function grantedAccess(
  asked: number,
  max: number,
  o: { overwrite: boolean; readOnlyFile: boolean; deleteOnClose: boolean },
): number {
  let wanted = asked & ~ACCESS.MAXIMUM_ALLOWED;
  if (o.overwrite) wanted |= ACCESS.FILE_WRITE_DATA;
  let granted = asked & ACCESS.MAXIMUM_ALLOWED ? max : wanted;
  if ((wanted & ~max & ~ACCESS.SYNCHRONIZE) !== 0)
    throw new SmbError(
      NT_STATUS.STATUS_ACCESS_DENIED,
      `access 0x${wanted.toString(16)} exceeds 0x${max.toString(16)}`,
    );
  if (!o.readOnlyFile) return granted;
  if (o.deleteOnClose) throw new SmbError(NT_STATUS.STATUS_CANNOT_DELETE, 'read-only file');
  const writes = ACCESS.FILE_WRITE_DATA | ACCESS.FILE_APPEND_DATA;
  if (granted & writes) {
    if (asked & ACCESS.MAXIMUM_ALLOWED) granted &= ~writes;
    else throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'read-only file');
  }
  return granted;
}
