import type { LockView } from '@claudefs/api';
import type { ByteRangeLock, LockTable } from '../../storage/locks.ts';

/**
 * The byte-range locks of the table as an operator reads them, the oldest first: this node's,
 * then what it knows of the other nodes' (each naming its node). A holder reads as the name
 * `holders` gives this node's lock client (SMB: user@address), else as its protocol filed it
 * (an NFS client's host name); a file by the path `paths` knows for its inode, else null.
 */
export function lockViews(
  table: LockTable,
  holders: ReadonlyMap<string, string> = new Map(),
  paths: ReadonlyMap<bigint, string> = new Map(),
): LockView[] {
  const oldestFirst = (list: ByteRangeLock[]) => list.sort((a, b) => a.since - b.since);
  return [...oldestFirst(table.list()), ...oldestFirst(table.remoteList())].map((l) => ({
    protocol: l.owner.protocol === 'smb' ? 'smb' : 'nfs',
    // Another node's SMB lock clients are named as that node names them: not this node's.
    holder: (l.node === undefined ? holders.get(l.owner.client) : undefined) ?? l.owner.client,
    path: paths.get(l.ino) ?? null,
    ino: l.ino.toString(),
    offset: l.offset.toString(),
    length: l.point ? '0' : l.length === 0n ? 'to end' : l.length.toString(),
    exclusive: l.exclusive,
    since: new Date(l.since).toISOString(),
    ...(l.node === undefined ? {} : { node: l.node }),
  }));
}
