import type { LockView } from '@claudefs/api';
import type { LockTable } from '../../storage/locks.ts';

/**
 * This node's byte-range locks as an operator reads them, the oldest first: each holder by the
 * name `holders` gives its lock client (SMB: user@address), else as its protocol filed it (an
 * NFS client's host name); each file by the path `paths` knows for its inode, else null.
 */
export function lockViews(
  table: LockTable,
  holders: ReadonlyMap<string, string> = new Map(),
  paths: ReadonlyMap<bigint, string> = new Map(),
): LockView[] {
  return table
    .list()
    .sort((a, b) => a.since - b.since)
    .map((l) => ({
      protocol: l.owner.protocol === 'smb' ? 'smb' : 'nfs',
      holder: holders.get(l.owner.client) ?? l.owner.client,
      path: paths.get(l.ino) ?? null,
      ino: l.ino.toString(),
      offset: l.offset.toString(),
      length: l.length === 0n ? 'to end' : l.length.toString(),
      exclusive: l.exclusive,
      since: new Date(l.since).toISOString(),
    }));
}
