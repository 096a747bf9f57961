import type Database from 'better-sqlite3';

/** Every statement the embedded metadata store runs, prepared once at open. */
export function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql).safeIntegers(true);
  return {
    getInode: p('SELECT * FROM inodes WHERE ino = ?'),
    lookup: p('SELECT ino, type FROM dirents WHERE parent = ? AND name = ?'),
    lookupRow: p(
      'SELECT i.* FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?',
    ),
    insertInode: p(
      `INSERT INTO inodes (gen, type, mode, nlink, uid, gid, size, rdev, atime, mtime, ctime, btime, parent, target, verifier)
       VALUES (@gen, @type, @mode, @nlink, @uid, @gid, 0, @rdev, @now, @now, @now, @now, @parent, @target, @verifier)`,
    ),
    insertDirent: p('INSERT INTO dirents (parent, name, ino, type) VALUES (?, ?, ?, ?)'),
    deleteDirent: p('DELETE FROM dirents WHERE parent = ? AND name = ?'),
    hasChildren: p('SELECT 1 FROM dirents WHERE parent = ? LIMIT 1'),
    readdir: p(
      'SELECT cookie, name, ino, type FROM dirents WHERE parent = ? AND cookie > ? ORDER BY cookie LIMIT ?',
    ),
    touchDir: p(
      'UPDATE inodes SET mtime = ?, ctime = ?, change = change + 1, nlink = nlink + ? WHERE ino = ?',
    ),
    addNlink: p('UPDATE inodes SET nlink = nlink + ?, ctime = ?, change = change + 1 WHERE ino = ?'),
    setParent: p('UPDATE inodes SET parent = ?, ctime = ?, change = change + 1 WHERE ino = ?'),
    deleteInode: p('DELETE FROM inodes WHERE ino = ?'),
    deleteXattrsOf: p('DELETE FROM xattrs WHERE ino = ?'),
    deleteExtentsOf: p('DELETE FROM extents WHERE ino = ?'),
    updateAttrs: p(
      `UPDATE inodes SET mode = @mode, uid = @uid, gid = @gid, size = @size, atime = @atime, mtime = @mtime,
       ctime = @ctime, btime = @btime, change = change + 1 WHERE ino = @ino`,
    ),
    recordWrite: p(
      'UPDATE inodes SET size = MAX(size, ?), mtime = ?, ctime = ?, change = change + 1 WHERE ino = ?',
    ),
    setLayout: p('UPDATE inodes SET layout = ? WHERE ino = ?'),
    addUsage: p(
      `INSERT INTO usage (kind, id, bytes, inodes) VALUES (?, ?, ?, ?)
       ON CONFLICT (kind, id) DO UPDATE SET bytes = bytes + excluded.bytes, inodes = inodes + excluded.inodes`,
    ),
    getUsage: p('SELECT bytes, inodes FROM usage WHERE kind = ? AND id = ?'),
    allUsage: p('SELECT kind, id, bytes, inodes FROM usage'),
    getXattr: p('SELECT value FROM xattrs WHERE ino = ? AND name = ?'),
    listXattrs: p('SELECT name, value FROM xattrs WHERE ino = ? ORDER BY name'),
    setXattr: p('INSERT OR REPLACE INTO xattrs (ino, name, value) VALUES (?, ?, ?)'),
    deleteXattr: p('DELETE FROM xattrs WHERE ino = ? AND name = ?'),
    touchCtime: p('UPDATE inodes SET ctime = ?, change = change + 1 WHERE ino = ?'),
    extentsIn: p(
      `SELECT off, len, blob, blob_off FROM extents WHERE ino = @ino
       AND off >= COALESCE((SELECT MAX(off) FROM extents WHERE ino = @ino AND off <= @from), 0)
       AND off < @to ORDER BY off`,
    ),
    allExtents: p('SELECT off, len, blob, blob_off FROM extents WHERE ino = ? ORDER BY off'),
    insertExtent: p('INSERT INTO extents (ino, off, len, blob, blob_off) VALUES (?, ?, ?, ?, ?)'),
    deleteExtent: p('DELETE FROM extents WHERE ino = ? AND off = ?'),
    blobsOf: p('SELECT DISTINCT blob FROM extents WHERE ino = ?'),
    blobStillUsed: p('SELECT 1 FROM extents WHERE blob = ? AND ino != ? LIMIT 1'),
    queueGc: p('INSERT OR IGNORE INTO blob_gc (blob) VALUES (?)'),
    dequeueGc: p('DELETE FROM blob_gc WHERE blob = ?'),
    listGc: p('SELECT blob FROM blob_gc'),
    insertDetached: p('INSERT INTO detached (ino, created, purpose, owner) VALUES (?, ?, ?, ?)'),
    deleteDetached: p('DELETE FROM detached WHERE ino = ?'),
    getDetached: p('SELECT ino, created, purpose, owner FROM detached WHERE ino = ?'),
    listDetached: p('SELECT ino, created, purpose, owner FROM detached ORDER BY ino'),
    getMeta: p('SELECT value FROM meta WHERE key = ?'),
    setMeta: p('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    countInodes: p('SELECT COUNT(*) AS n FROM inodes'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
