import { STREAM_XATTR_PREFIX } from '../annotations.ts';
import { liveCondition, OPENS_CLASS } from '../postgres/advisory.ts';

const STREAM_PREFIX_LENGTH = STREAM_XATTR_PREFIX.length;

/**
 * Every statement the metadata programs run, by name, with `?` placeholders. The text is
 * shared by both dialects where SQL allows; PG_OVERRIDES holds PostgreSQL's own wording and
 * the statements that mean more there than on a single-writer SQLite (row locks, advisory
 * locks, a ledger spread over slots so concurrent writers do not queue on one row).
 */
export const STATEMENTS = {
  getInode: 'SELECT * FROM inodes WHERE ino = ?',
  /** An inode a mutation is about to change: locked until the transaction ends (PostgreSQL). */
  lockInode: 'SELECT * FROM inodes WHERE ino = ?',
  /** lockInode of a directory, with the inode a name in it holds (`named`, null if none): one round trip. */
  lockDirNamed:
    'SELECT i.*, (SELECT d.ino FROM dirents d WHERE d.parent = i.ino AND d.name = ?) AS named FROM inodes i WHERE i.ino = ?',
  lookup: 'SELECT ino, type FROM dirents WHERE parent = ? AND name = ?',
  lookupRow: 'SELECT i.* FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?',
  insertInode: `INSERT INTO inodes (gen, type, mode, nlink, uid, gid, size, rdev, atime, mtime, ctime, btime, parent, target, verifier, layout)
     VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  insertDirent: 'INSERT INTO dirents (parent, name, ino, type) VALUES (?, ?, ?, ?)',
  deleteDirent: 'DELETE FROM dirents WHERE parent = ? AND name = ?',
  hasChildren: 'SELECT 1 AS one FROM dirents WHERE parent = ? LIMIT 1',
  readdir:
    'SELECT cookie, name, ino, type FROM dirents WHERE parent = ? AND cookie > ? ORDER BY cookie LIMIT ?',
  /** The inode rows of several inodes: a JSON array of inode numbers, as strings (exact past 2^53). */
  rowsOf: 'SELECT * FROM inodes WHERE ino IN (SELECT CAST(value AS INTEGER) FROM json_each(?))',
  /** A page of entries with their inode rows (null columns when the row is gone), by name,
   * bytewise (S3's key order), after a name: the name index, no sort. */
  readdirRowsByName: `SELECT d.cookie AS entry_cookie, d.name AS entry_name, d.ino AS entry_ino, d.type AS entry_type, i.*
     FROM dirents d LEFT JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name > ? ORDER BY d.name LIMIT ?`,
  touchDir:
    'UPDATE inodes SET mtime = ?, ctime = ?, change = change + 1, nlink = nlink + ? WHERE ino = ? RETURNING *',
  addNlink: 'UPDATE inodes SET nlink = nlink + ?, ctime = ?, change = change + 1 WHERE ino = ?',
  /** addNlink, answering the row as it leaves it. */
  addNlinkRow:
    'UPDATE inodes SET nlink = nlink + ?, ctime = ?, change = change + 1 WHERE ino = ? RETURNING *',
  setParent: 'UPDATE inodes SET parent = ?, ctime = ?, change = change + 1 WHERE ino = ?',
  deleteInode: 'DELETE FROM inodes WHERE ino = ?',
  deleteXattrsOf: 'DELETE FROM xattrs WHERE ino = ?',
  deleteExtentsOf: 'DELETE FROM extents WHERE ino = ?',
  updateAttrs: `UPDATE inodes SET mode = ?, uid = ?, gid = ?, size = ?, atime = ?, mtime = ?,
     ctime = ?, btime = ?, change = change + 1 WHERE ino = ?`,
  recordWrite:
    'UPDATE inodes SET size = MAX(size, ?), mtime = ?, ctime = ?, change = change + 1 WHERE ino = ? RETURNING *',
  setLayout: 'UPDATE inodes SET layout = ? WHERE ino = ?',
  /** A write by anyone but root drops setuid and setgid (its recordWrite moves ctime). */
  setMode: 'UPDATE inodes SET mode = ? WHERE ino = ?',
  setHold: 'UPDATE inodes SET hold = ? WHERE ino = ?',
  /** The same change to a uid's and a gid's usage, in one statement. */
  addUsage: `INSERT INTO usage (kind, id, bytes, inodes) VALUES (0, ?, ?, ?), (1, ?, ?, ?)
     ON CONFLICT (kind, id) DO UPDATE SET bytes = usage.bytes + excluded.bytes, inodes = usage.inodes + excluded.inodes`,
  getUsage:
    'SELECT COALESCE(SUM(bytes), 0) AS bytes, COALESCE(SUM(inodes), 0) AS inodes FROM usage WHERE kind = ? AND id = ?',
  allUsage:
    'SELECT kind, id, SUM(bytes) AS bytes, SUM(inodes) AS inodes FROM usage GROUP BY kind, id ORDER BY kind, id',
  /** Serializes charges against one quota subject across writers (PostgreSQL). */
  lockUsage: 'SELECT ? AS subject',
  /** Serializes directory moves (the subtree check walks ancestors), as a VFS rename lock does. */
  lockRename: 'SELECT 1 AS one',
  getXattr: 'SELECT value FROM xattrs WHERE ino = ? AND name = ?',
  listXattrs: `SELECT name, value FROM xattrs WHERE ino = ? AND substr(name, 1, ${STREAM_PREFIX_LENGTH}) <> '${STREAM_XATTR_PREFIX}' ORDER BY name`,
  /** listXattrs of several inodes at once: a JSON array of inode numbers, as strings. */
  listXattrsOf: `SELECT ino, name, value FROM xattrs WHERE ino IN (SELECT CAST(value AS INTEGER) FROM json_each(?))
     AND substr(name, 1, ${STREAM_PREFIX_LENGTH}) <> '${STREAM_XATTR_PREFIX}' ORDER BY ino, name`,
  streamBytes: `SELECT COALESCE(SUM(length(value)), 0) AS bytes FROM xattrs
     WHERE ino = ? AND substr(name, 1, ${STREAM_PREFIX_LENGTH}) = '${STREAM_XATTR_PREFIX}'`,
  /** Each chunk of each named stream, by the name after the prefix (annotations.ts: a stream is chunks). */
  listStreams: `SELECT substr(name, ${STREAM_PREFIX_LENGTH + 1}) AS name, length(value) AS size FROM xattrs
     WHERE ino = ? AND substr(name, 1, ${STREAM_PREFIX_LENGTH}) = '${STREAM_XATTR_PREFIX}' ORDER BY name`,
  setXattr: 'INSERT OR REPLACE INTO xattrs (ino, name, value) VALUES (?, ?, ?)',
  deleteXattr: 'DELETE FROM xattrs WHERE ino = ? AND name = ?',
  /** Several attributes in one statement (one round trip on PostgreSQL): a JSON object of name → hex value. */
  setXattrsJson:
    'INSERT OR REPLACE INTO xattrs (ino, name, value) SELECT ?, key, unhex(value) FROM json_each(?)',
  /** Several attributes removed in one statement: a JSON array of names. */
  deleteXattrsJson: 'DELETE FROM xattrs WHERE ino = ? AND name IN (SELECT value FROM json_each(?))',
  touchCtime: 'UPDATE inodes SET ctime = ?, change = change + 1 WHERE ino = ?',
  extentsIn: `SELECT off, len, blob, blob_off FROM extents WHERE ino = ?
     AND off >= COALESCE((SELECT MAX(off) FROM extents WHERE ino = ? AND off <= ?), 0)
     AND off < ? ORDER BY off`,
  allExtents: 'SELECT off, len, blob, blob_off FROM extents WHERE ino = ? ORDER BY off',
  insertExtent: 'INSERT INTO extents (ino, off, len, blob, blob_off) VALUES (?, ?, ?, ?, ?)',
  deleteExtent: 'DELETE FROM extents WHERE ino = ? AND off = ?',
  getInline: 'SELECT bytes FROM inline_data WHERE ino = ?',
  setInline: 'INSERT OR REPLACE INTO inline_data (ino, bytes) VALUES (?, ?)',
  deleteInline: 'DELETE FROM inline_data WHERE ino = ?',
  blobsOf: 'SELECT DISTINCT blob FROM extents WHERE ino = ?',
  blobStillUsed: 'SELECT 1 AS one FROM extents WHERE blob = ? AND ino != ? LIMIT 1',
  queueGc: 'INSERT OR IGNORE INTO blob_gc (blob) VALUES (?)',
  dequeueGc: 'DELETE FROM blob_gc WHERE blob = ?',
  listGc: 'SELECT blob FROM blob_gc',
  insertDetached: 'INSERT INTO detached (ino, created, purpose, owner) VALUES (?, ?, ?, ?)',
  deleteDetached: 'DELETE FROM detached WHERE ino = ?',
  getDetached: 'SELECT ino, created, purpose, owner FROM detached WHERE ino = ?',
  /** A detached file's record removed, answering whether there was one (a link's check). */
  takeDetached: 'DELETE FROM detached WHERE ino = ? RETURNING ino',
  listDetached: 'SELECT ino, created, purpose, owner FROM detached ORDER BY ino',
  getMeta: 'SELECT value FROM meta WHERE key = ?',
  setMeta: 'INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)',
  countInodes: 'SELECT COUNT(*) AS n FROM inodes',
  /**
   * Waits until no other process is deciding an SMB open of the inode (PostgreSQL: its opens'
   * advisory lock, held to the end of the transaction), so what openElsewhere reads next
   * includes an open decided meanwhile. One process owns a SQLite database: nothing to wait for.
   */
  awaitOpenDecisions: 'SELECT ? AS ino',
  /** A row if a live process other than `?` (2nd) records SMB opens of the inode (none on SQLite). */
  openElsewhere: 'SELECT 1 AS one WHERE ? IS NULL AND ? IS NULL',
  /** Moves the inode counter forward by `?`; answers the next number it will hand out. */
  skipInodeNumbers: `UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'inodes' RETURNING seq + 1 AS next`,
} as const;

export type StatementName = keyof typeof STATEMENTS;

export const PG_OVERRIDES: Partial<Record<StatementName, string>> = {
  lockInode: 'SELECT * FROM inodes WHERE ino = ? FOR UPDATE',
  lockDirNamed:
    'SELECT i.*, (SELECT d.ino FROM dirents d WHERE d.parent = i.ino AND d.name = ?) AS named FROM inodes i WHERE i.ino = ? FOR UPDATE OF i',
  recordWrite:
    'UPDATE inodes SET size = GREATEST(size, ?), mtime = ?, ctime = ?, change = change + 1 WHERE ino = ? RETURNING *',
  // One row per (subject, connection slot): concurrent transactions add to different rows.
  addUsage: `INSERT INTO usage (kind, id, slot, bytes, inodes)
     VALUES (0, ?, pg_backend_pid() % 16, ?, ?), (1, ?, pg_backend_pid() % 16, ?, ?)
     ON CONFLICT (kind, id, slot) DO UPDATE SET bytes = usage.bytes + excluded.bytes, inodes = usage.inodes + excluded.inodes`,
  getUsage:
    'SELECT COALESCE(SUM(bytes), 0)::bigint AS bytes, COALESCE(SUM(inodes), 0)::bigint AS inodes FROM usage WHERE kind = ? AND id = ?',
  allUsage:
    'SELECT kind, id, SUM(bytes)::bigint AS bytes, SUM(inodes)::bigint AS inodes FROM usage GROUP BY kind, id ORDER BY kind, id',
  lockUsage: 'SELECT pg_advisory_xact_lock(?::bigint) IS NULL AS subject',
  lockRename: 'SELECT pg_advisory_xact_lock(0) IS NULL AS one',
  setXattr:
    'INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?) ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value',
  setXattrsJson: `INSERT INTO xattrs (ino, name, value) SELECT ?::bigint, key, decode(value, 'hex') FROM json_each_text(?::json)
     ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value`,
  deleteXattrsJson: 'DELETE FROM xattrs WHERE ino = ? AND name IN (SELECT json_array_elements_text(?::json))',
  // Bytewise order whatever the database's collation: the "C" index in schema.ts serves it.
  readdirRowsByName: `SELECT d.cookie AS entry_cookie, d.name AS entry_name, d.ino AS entry_ino, d.type AS entry_type, i.*
     FROM dirents d LEFT JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name COLLATE "C" > ?
     ORDER BY d.name COLLATE "C" LIMIT ?`,
  rowsOf: 'SELECT * FROM inodes WHERE ino IN (SELECT json_array_elements_text(?::json)::bigint)',
  listXattrsOf: `SELECT ino, name, value FROM xattrs WHERE ino IN (SELECT json_array_elements_text(?::json)::bigint)
     AND substr(name, 1, ${STREAM_PREFIX_LENGTH}) <> '${STREAM_XATTR_PREFIX}' ORDER BY ino, name`,
  setInline:
    'INSERT INTO inline_data (ino, bytes) VALUES (?, ?) ON CONFLICT (ino) DO UPDATE SET bytes = excluded.bytes',
  queueGc: 'INSERT INTO blob_gc (blob) VALUES (?) ON CONFLICT DO NOTHING',
  setMeta:
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  awaitOpenDecisions: `SELECT pg_advisory_xact_lock(${OPENS_CLASS}, (?::bigint % 2147483647)::int) IS NULL AS ino`,
  openElsewhere: `SELECT 1 AS one FROM open_holds o WHERE o.ino = ? AND o.alive <> ? AND ${liveCondition('o')} LIMIT 1`,
  // A sequence never hands a number out twice, crash or not, and is shared by every node:
  // taking the next number marks this start (setval with a gap could move it backwards
  // when two nodes start at once). The gap argument is not needed here.
  skipInodeNumbers: `SELECT nextval(pg_get_serial_sequence('inodes', 'ino')) + 0 * ?::bigint AS next`,
};

/** A statement's text for PostgreSQL: its override or the shared text, `?` numbered `$1…`. */
export function pgText(name: StatementName): string {
  let n = 0;
  return (PG_OVERRIDES[name] ?? STATEMENTS[name]).replace(/\?/g, () => `$${++n}`);
}
