/**
 * Metadata schema of the embedded namespace (SQLite). Inode numbers come from AUTOINCREMENT
 * and are never reused, so (ino, gen) in a file handle can only ever name one file; the
 * random generation also keeps handles from a re-created state folder from matching.
 *
 * File data layout: a file whose `layout` is 0 keeps its bytes in its own blob, at the same
 * offsets (sparse; holes read as zeros). A file whose layout is 1 is an ordered list of
 * extents over any blobs — how an S3 multipart upload completes without copying data, and
 * how the same layout maps onto an object store when scaled out. A file whose layout is 2
 * keeps its bytes inline, in `inline_data` (a small file: `transport.inline_max`); bytes
 * between the end of that row and the file's size read as zeros. Layout 2 only ever turns
 * into 0 (a write past the limit moves the bytes to the blob), never back.
 */
/**
 * 2: small files inline (layout 2, `inline_data`), which a version-1 gateway would misread.
 * 3: `inodes.hold`, the time (ns) until which a file is immutable (S3 Object Lock), which an
 * older gateway would not enforce.
 * 4: named streams in chunks (annotations.ts), which an older gateway would list as streams of
 * their own; `xattrs` a rowid table (REBUILT_TABLES).
 */
export const SCHEMA_VERSION = 4;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS inodes (
  ino INTEGER PRIMARY KEY AUTOINCREMENT,
  gen INTEGER NOT NULL,
  type INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  nlink INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  rdev INTEGER NOT NULL DEFAULT 0,
  atime INTEGER NOT NULL,
  mtime INTEGER NOT NULL,
  ctime INTEGER NOT NULL,
  btime INTEGER NOT NULL,
  change INTEGER NOT NULL DEFAULT 1,
  parent INTEGER NOT NULL DEFAULT 0,
  layout INTEGER NOT NULL DEFAULT 0,
  target TEXT,
  verifier BLOB,
  hold INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS dirents (
  cookie INTEGER PRIMARY KEY AUTOINCREMENT,
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  ino INTEGER NOT NULL,
  type INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dirents_by_name ON dirents (parent, name);
CREATE INDEX IF NOT EXISTS dirents_by_cookie ON dirents (parent, cookie);

CREATE TABLE IF NOT EXISTS extents (
  ino INTEGER NOT NULL,
  off INTEGER NOT NULL,
  len INTEGER NOT NULL,
  blob INTEGER NOT NULL,
  blob_off INTEGER NOT NULL,
  PRIMARY KEY (ino, off)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS xattrs (
  ino INTEGER NOT NULL,
  name TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (ino, name)
);

CREATE TABLE IF NOT EXISTS usage (
  kind INTEGER NOT NULL,
  id INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  inodes INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- Blobs whose last reference is gone; unlinked after commit, retried at start-up.
CREATE TABLE IF NOT EXISTS blob_gc (
  blob INTEGER PRIMARY KEY
);

-- Inodes in no directory yet (uploads written aside before an atomic link into place).
-- The bytes of files with layout 2 (small files kept in the metadata database).
CREATE TABLE IF NOT EXISTS inline_data (
  ino INTEGER PRIMARY KEY,
  bytes BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS detached (
  ino INTEGER PRIMARY KEY,
  created INTEGER NOT NULL,
  purpose TEXT NOT NULL,
  owner TEXT
);
`;

/**
 * Tables whose layout changed: a database whose table was made by an older schema (its SQL
 * matches `old`) has it rebuilt with the new one at open, its rows copied, in one transaction.
 *
 * `xattrs` was WITHOUT ROWID: its rows, named streams' chunks of up to 256 KiB among them, sat
 * whole in the primary key's b-tree, where SQLite reads a row's whole value to step over it.
 * Loading a file's attributes (its xattrs but the streams) or listing its streams cost a read
 * of every stream byte: 11 ms for a 64 MiB resource fork. A rowid table keeps the values out
 * of the key's index: 0.02 ms.
 */
export const REBUILT_TABLES: ReadonlyArray<{ table: string; old: RegExp; create: string; columns: string }> =
  [
    {
      table: 'xattrs',
      old: /WITHOUT ROWID/i,
      create:
        'CREATE TABLE xattrs_rebuilt (ino INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ino, name))',
      columns: 'ino, name, value',
    },
  ];

/**
 * Columns added since a table was first created, for stores made by an older version (SQLite
 * has no ADD COLUMN IF NOT EXISTS); run after SCHEMA_SQL.
 */
export const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; sql: string }> = [
  { table: 'inodes', column: 'hold', sql: 'ALTER TABLE inodes ADD COLUMN hold INTEGER NOT NULL DEFAULT 0' },
];

export { TYPE_CODES, USAGE_GID, USAGE_UID } from '../meta/model.ts';
