/**
 * Metadata schema on PostgreSQL: the tables of the SQLite schema (../sqlite/schema.ts), every
 * integer a BIGINT (the drivers hand both back as bigint), plus `slot` in the usage ledger so
 * concurrent transactions on many gateway nodes add to different rows of one subject.
 * Inode numbers and directory cookies come from sequences: never reused, never rolled back.
 */
/**
 * 2: small files inline (layout 2, `inline_data`), which a version-1 gateway would misread.
 * 3: `inodes.hold` (S3 Object Lock), which an older gateway would not enforce.
 * 4: `open_holds` (SMB share modes and caching across nodes), which an older gateway would not
 *    record, granting opens and caching the other nodes do not see.
 * 5: `open_holds.delete_pending`, which an older gateway would neither record nor respect.
 * 6: named streams in chunks (annotations.ts), which an older gateway would list as streams of
 *    their own.
 */
export const PG_SCHEMA_VERSION = 6;

export const PG_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS inodes (
  ino BIGSERIAL PRIMARY KEY,
  gen BIGINT NOT NULL,
  type BIGINT NOT NULL,
  mode BIGINT NOT NULL,
  nlink BIGINT NOT NULL,
  uid BIGINT NOT NULL,
  gid BIGINT NOT NULL,
  size BIGINT NOT NULL DEFAULT 0,
  rdev BIGINT NOT NULL DEFAULT 0,
  atime BIGINT NOT NULL,
  mtime BIGINT NOT NULL,
  ctime BIGINT NOT NULL,
  btime BIGINT NOT NULL,
  change BIGINT NOT NULL DEFAULT 1,
  parent BIGINT NOT NULL DEFAULT 0,
  layout BIGINT NOT NULL DEFAULT 0,
  target TEXT,
  verifier BYTEA,
  hold BIGINT NOT NULL DEFAULT 0
);
ALTER TABLE inodes ADD COLUMN IF NOT EXISTS hold BIGINT NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS dirents (
  cookie BIGSERIAL PRIMARY KEY,
  parent BIGINT NOT NULL,
  name TEXT NOT NULL,
  ino BIGINT NOT NULL,
  type BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dirents_by_name ON dirents (parent, name);
CREATE INDEX IF NOT EXISTS dirents_by_cookie ON dirents (parent, cookie);
-- Names in bytewise order (S3's key order) whatever the database's collation.
CREATE INDEX IF NOT EXISTS dirents_by_key ON dirents (parent, name COLLATE "C");

CREATE TABLE IF NOT EXISTS extents (
  ino BIGINT NOT NULL,
  off BIGINT NOT NULL,
  len BIGINT NOT NULL,
  blob BIGINT NOT NULL,
  blob_off BIGINT NOT NULL,
  PRIMARY KEY (ino, off)
);
CREATE INDEX IF NOT EXISTS extents_by_blob ON extents (blob);

CREATE TABLE IF NOT EXISTS xattrs (
  ino BIGINT NOT NULL,
  name TEXT NOT NULL,
  value BYTEA NOT NULL,
  PRIMARY KEY (ino, name)
);

CREATE TABLE IF NOT EXISTS usage (
  kind BIGINT NOT NULL,
  id BIGINT NOT NULL,
  slot BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  inodes BIGINT NOT NULL,
  PRIMARY KEY (kind, id, slot)
);

CREATE TABLE IF NOT EXISTS blob_gc (
  blob BIGINT PRIMARY KEY
);

-- Byte-range locks (NLM and SMB) each gateway process holds, for the other nodes to see. A row
-- counts while its process holds the session advisory lock (7411, alive): a crashed node's rows
-- stop counting when its connection drops, and are removed by the next decision on the inode.
CREATE TABLE IF NOT EXISTS byte_locks (
  alive BIGINT NOT NULL,
  node TEXT NOT NULL,
  ino BIGINT NOT NULL,
  off BIGINT NOT NULL,
  len BIGINT NOT NULL,
  exclusive BOOLEAN NOT NULL,
  protocol TEXT NOT NULL,
  owner_key TEXT NOT NULL,
  client TEXT NOT NULL,
  since BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS byte_locks_by_ino ON byte_locks (ino);
-- An SMB zero-length lock: the position off (len 0), not "to the end of the file".
ALTER TABLE byte_locks ADD COLUMN IF NOT EXISTS point BOOLEAN NOT NULL DEFAULT false;

-- What each gateway process's SMB clients hold of a file, for the other nodes to respect: their
-- caching (lease bits: read 1, handle 2, write 4) and, for share modes, how many of their opens
-- with data access read, write or delete it and how many of those do not share reading,
-- writing or deleting; and whether a delete is pending there (1). Counts, like byte_locks, while
-- its process holds its liveness lock.
-- Unlogged: no WAL flush per open, and a database crash, which ends every liveness lock, empties
-- it (each node stores its rows again when its listener reconnects).
CREATE UNLOGGED TABLE IF NOT EXISTS open_holds (
  alive BIGINT NOT NULL,
  node TEXT NOT NULL,
  ino BIGINT NOT NULL,
  caching INTEGER NOT NULL,
  readers INTEGER NOT NULL,
  writers INTEGER NOT NULL,
  deleters INTEGER NOT NULL,
  no_read INTEGER NOT NULL,
  no_write INTEGER NOT NULL,
  no_delete INTEGER NOT NULL,
  delete_pending INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (alive, ino)
);
ALTER TABLE open_holds ADD COLUMN IF NOT EXISTS delete_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS open_holds_by_ino ON open_holds (ino);

-- The bytes of files with layout 2 (small files kept in the metadata database).
CREATE TABLE IF NOT EXISTS inline_data (
  ino BIGINT PRIMARY KEY,
  bytes BYTEA NOT NULL
);

CREATE TABLE IF NOT EXISTS detached (
  ino BIGINT PRIMARY KEY,
  created BIGINT NOT NULL,
  purpose TEXT NOT NULL,
  owner TEXT
);
`;
