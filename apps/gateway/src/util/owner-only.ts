import { closeSync, fchmodSync, fstatSync, openSync } from 'node:fs';

/** SQLite's files beside a database in WAL mode. */
const SIDE_FILES = ['-wal', '-shm'];

/**
 * A SQLite database file readable and writable by its owner only, before SQLite opens it:
 * created 0600 when missing (SQLite gives its -wal and -shm the database's mode), and an
 * existing one — with its -wal and -shm — stripped of group and other bits. Returns the files
 * whose mode it changed (for a log line).
 */
export function ownerOnlyDatabase(dbPath: string): string[] {
  const changed: string[] = [];
  const fd = openSync(dbPath, 'a', 0o600);
  try {
    if (strip(fd)) changed.push(dbPath);
  } finally {
    closeSync(fd);
  }
  for (const side of SIDE_FILES) {
    let sideFd: number;
    try {
      sideFd = openSync(dbPath + side, 'r');
    } catch {
      continue; // not there
    }
    try {
      if (strip(sideFd)) changed.push(dbPath + side);
    } finally {
      closeSync(sideFd);
    }
  }
  return changed;
}

/** Drops an open file's group and other permission bits; whether there were any. */
function strip(fd: number): boolean {
  const mode = fstatSync(fd).mode & 0o7777;
  if ((mode & 0o077) === 0) return false;
  // By descriptor: the path cannot be swapped for a link meanwhile. Another user's file (a
  // command run as someone else) is left as it is: only its owner may change its mode.
  try {
    fchmodSync(fd, mode & ~0o077);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPERM') return false;
    throw e;
  }
}
