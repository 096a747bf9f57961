import type Database from 'better-sqlite3';
import { isFsError } from '../errors.ts';
import { splitPath } from '../names.ts';
import { TYPE_CODES } from '../sqlite/schema.ts';
import { ROOT_INO } from '../sqlite/store.ts';
import { FsckError } from './report.ts';

/** PATH given to fsck: its inode, the entry naming it (none for "/"), and its subtree in temp.fsck_scope. */
export interface Scope {
  readonly path: string;
  readonly ino: bigint;
  readonly namingCookie?: bigint;
}

/** Resolves PATH through the entries (following no symlinks) and records its subtree. */
export function resolveScope(db: Database.Database, path: string): Scope {
  let parts: string[];
  try {
    parts = splitPath(path);
  } catch (e) {
    if (isFsError(e)) throw new FsckError(`cannot check '${path}': ${e.message}`);
    throw e;
  }
  const entry = db.prepare('SELECT ino, cookie FROM dirents WHERE parent = ? AND name = ?');
  const typeOf = db.prepare('SELECT type FROM inodes WHERE ino = ?').pluck();
  let ino = ROOT_INO;
  let namingCookie: bigint | undefined;
  for (const part of parts) {
    if (typeOf.get(ino) !== BigInt(TYPE_CODES.dir)) {
      throw new FsckError(`cannot access '${path}': Not a directory`);
    }
    const row = entry.get(ino, part) as { ino: bigint; cookie: bigint } | undefined;
    if (!row) throw new FsckError(`cannot access '${path}': No such file or directory`);
    ino = row.ino;
    namingCookie = row.cookie;
  }
  fillSubtree(db, ino);
  return namingCookie === undefined ? { path, ino } : { path, ino, namingCookie };
}

function fillSubtree(db: Database.Database, top: bigint): void {
  db.exec(
    'CREATE TEMP TABLE IF NOT EXISTS fsck_scope (ino INTEGER PRIMARY KEY); DELETE FROM temp.fsck_scope;',
  );
  const add = db.prepare('INSERT OR IGNORE INTO temp.fsck_scope (ino) VALUES (?)');
  const children = db.prepare(
    'SELECT d.ino, i.type FROM dirents d LEFT JOIN inodes i ON i.ino = d.ino WHERE d.parent = ?',
  );
  const isDir = db.prepare('SELECT 1 FROM inodes WHERE ino = ? AND type = 2').pluck();
  add.run(top);
  const queue = isDir.get(top) ? [top] : [];
  while (queue.length > 0) {
    const dir = queue.pop()!;
    for (const c of children.all(dir) as Array<{ ino: bigint; type: bigint | null }>) {
      // A directory reached twice (a corrupt tree) is walked once.
      if (add.run(c.ino).changes === 1 && c.type === BigInt(TYPE_CODES.dir)) queue.push(c.ino);
    }
  }
}
