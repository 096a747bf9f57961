import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from '../sqlite/schema.ts';
import { FsckError } from './report.ts';

const REQUIRED_TABLES = ['meta', 'inodes', 'dirents', 'extents', 'xattrs', 'usage', 'blob_gc', 'detached'];

/**
 * Opens the metadata database directly (not through the namespace, which writes at open):
 * read-only for a check, writable for --repair. Integers come back as bigint.
 */
export function openMetadata(dbFile: string, writable: boolean): Database.Database {
  if (!existsSync(dbFile)) throw new FsckError(`metadata database ${dbFile} does not exist`);
  let db: Database.Database | undefined;
  try {
    db = new Database(dbFile, { readonly: !writable, fileMustExist: true });
    db.defaultSafeIntegers(true);
    db.pragma('busy_timeout = 5000');
    const tables = new Set(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[],
    );
    const missing = REQUIRED_TABLES.filter((t) => !tables.has(t));
    if (missing.length > 0) {
      throw new FsckError(`${dbFile} is not a ClaudeFS metadata database (no ${missing.join(', ')} table)`);
    }
    const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as
      | string
      | undefined;
    if (version !== undefined && Number(version) > SCHEMA_VERSION) {
      throw new FsckError(
        `metadata schema ${version} is newer than this fsck understands (${SCHEMA_VERSION})`,
      );
    }
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof FsckError) throw e;
    throw new FsckError(`cannot read metadata database ${dbFile}: ${(e as Error).message}`);
  }
}

/**
 * Derived tables the checks join against, kept in the connection's TEMP database so a
 * read-only check writes nothing: `fsck_links` (entries naming each inode, and the first of
 * them, for paths) and `fsck_subdirs` (directory entries per directory, for its nlink).
 */
export function buildLinkTables(db: Database.Database): void {
  db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS fsck_links (
      ino INTEGER PRIMARY KEY, n INTEGER NOT NULL, parent INTEGER NOT NULL, name TEXT NOT NULL);
    CREATE TEMP TABLE IF NOT EXISTS fsck_subdirs (dir INTEGER PRIMARY KEY, n INTEGER NOT NULL);
    DELETE FROM temp.fsck_links;
    DELETE FROM temp.fsck_subdirs;
    INSERT INTO temp.fsck_links (ino, n, parent, name)
      SELECT ino, n, parent, name FROM (
        SELECT ino, COUNT(*) AS n, MIN(cookie) AS first, parent, name FROM dirents GROUP BY ino);
    INSERT INTO temp.fsck_subdirs (dir, n)
      SELECT d.parent, COUNT(*) FROM dirents d JOIN inodes i ON i.ino = d.ino
      WHERE i.type = 2 GROUP BY d.parent;
  `);
}
