import type { LockView } from '@claudefs/api';

/** The columns of a byte-range lock in `./cfs locks` and `./cfs smb status`. */
export const LOCK_COLUMNS = ['Protocol', 'Holder', 'Mode', 'Start', 'Length', 'File', 'Since'];

export function lockRow(l: LockView): string[] {
  return [
    l.protocol.toUpperCase(),
    l.node === undefined ? l.holder : `${l.holder} (through ${l.node})`,
    l.exclusive ? 'WRITE' : 'READ',
    l.offset,
    l.length,
    l.path ?? `inode ${l.ino}`,
    l.since,
  ];
}
