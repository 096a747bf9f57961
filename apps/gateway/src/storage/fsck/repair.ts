import { randomInt } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { USAGE_GID, USAGE_UID } from '../sqlite/schema.ts';
import { ROOT_INO } from '../sqlite/store.ts';
import { blobPath } from './blob-files.ts';
import { buildLinkTables } from './database.ts';
import type { Finding, Fix } from './finding.ts';
import { DIR } from './inode-type.ts';
import { actualUsage } from './ledger-check.ts';
import { FsckError, type FsckProblem } from './report.ts';

export const LOST_AND_FOUND = 'lost+found';

/**
 * Applies every proposed fix: all metadata changes in one immediate transaction (so a failure
 * changes nothing), then blob deletions, which only ever remove data nothing references.
 * Link counts are recounted after the structural fixes, so they agree with the entries those
 * fixes leave. Directories whose entries change get new times and change values, so clients
 * drop cached listings. Returns the problems repaired.
 */
export function applyRepairs(
  db: Database.Database,
  dataDir: string,
  findings: readonly Finding[],
): FsckProblem[] {
  const withFix = findings.filter((f): f is Finding & { fix: Fix } => f.fix !== undefined);
  const metadata = withFix.filter((f) => f.fix.op !== 'delete-blob');
  const blobs = withFix.filter((f) => f.fix.op === 'delete-blob');
  const repaired: FsckProblem[] = [];

  if (metadata.length > 0) {
    try {
      db.transaction(() =>
        repairMetadata(
          db,
          metadata.map((f) => f.fix),
        ),
      ).immediate();
    } catch (e) {
      if (e instanceof FsckError) throw e;
      throw new FsckError(`repair failed and changed nothing: ${(e as Error).message}`);
    }
    repaired.push(...metadata.map((f) => f.problem));
  }
  for (const f of blobs) {
    if (f.fix.op === 'delete-blob' && removeBlob(dataDir, f.fix.blob)) repaired.push(f.problem);
  }
  return repaired;
}

function removeBlob(dataDir: string, blob: bigint): boolean {
  try {
    unlinkSync(blobPath(dataDir, blob));
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function repairMetadata(db: Database.Database, fixes: readonly Fix[]): void {
  const now = BigInt(Date.now()) * 1_000_000n;
  const touched = new Set<bigint>();
  const recount = new Set<bigint>();
  let ledger = false;
  let lostFound: bigint | undefined;
  const st = {
    deleteEntry: db.prepare('DELETE FROM dirents WHERE cookie = ?'),
    entryParent: db.prepare('SELECT parent FROM dirents WHERE cookie = ?').pluck(),
    setEntryType: db.prepare('UPDATE dirents SET type = ? WHERE cookie = ?'),
    setParent: db.prepare('UPDATE inodes SET parent = ?, ctime = ?, change = change + 1 WHERE ino = ?'),
    dropDetached: db.prepare('DELETE FROM detached WHERE ino = ?'),
    dequeue: db.prepare('DELETE FROM blob_gc WHERE blob = ?'),
    inode: db.prepare('SELECT type FROM inodes WHERE ino = ?').pluck(),
    nameTaken: db.prepare('SELECT 1 FROM dirents WHERE parent = ? AND name = ?').pluck(),
    insertEntry: db.prepare('INSERT INTO dirents (parent, name, ino, type) VALUES (?, ?, ?, ?)'),
  };

  for (const fix of fixes) {
    switch (fix.op) {
      case 'delete-stray':
        db.prepare(`DELETE FROM ${fix.table} WHERE ino = ?`).run(fix.ino);
        break;
      case 'delete-entry':
        st.deleteEntry.run(fix.cookie);
        touched.add(fix.parent);
        recount.add(fix.parent);
        break;
      case 'set-entry-type': {
        const parent = st.entryParent.get(fix.cookie) as bigint | undefined;
        st.setEntryType.run(fix.type, fix.cookie);
        if (parent !== undefined) touched.add(parent);
        break;
      }
      case 'set-parent':
        st.setParent.run(fix.parent, now, fix.ino);
        break;
      case 'drop-detached':
        st.dropDetached.run(fix.ino);
        break;
      case 'dequeue-gc':
        st.dequeue.run(fix.blob);
        break;
      case 'recount-links':
        recount.add(fix.ino);
        break;
      case 'rewrite-ledger':
        ledger = true;
        break;
      case 'adopt': {
        lostFound ??= ensureLostAndFound(db, now, touched, recount);
        const type = st.inode.get(fix.ino) as bigint | undefined;
        if (type === undefined) break;
        let name = String(fix.ino);
        for (let k = 1; st.nameTaken.get(lostFound, name); k++) name = `${fix.ino}.${k}`;
        st.insertEntry.run(lostFound, name, fix.ino, type);
        if (type === DIR) st.setParent.run(lostFound, now, fix.ino);
        touched.add(lostFound);
        recount.add(lostFound);
        recount.add(fix.ino);
        break;
      }
      case 'delete-blob':
        break;
    }
  }

  if (recount.size > 0) {
    buildLinkTables(db);
    const setNlink = db.prepare(
      `UPDATE inodes SET nlink = CASE WHEN type = ${DIR}
         THEN 2 + COALESCE((SELECT n FROM temp.fsck_subdirs WHERE dir = inodes.ino), 0)
         ELSE COALESCE((SELECT n FROM temp.fsck_links WHERE ino = inodes.ino), 0) END
       WHERE ino = ?`,
    );
    for (const ino of recount) setNlink.run(ino);
  }
  const touch = db.prepare(
    `UPDATE inodes SET mtime = ?, ctime = ?, change = change + 1 WHERE ino = ? AND type = ${DIR}`,
  );
  for (const dir of touched) touch.run(now, now, dir);
  if (ledger) rewriteLedger(db);
}

/** /lost+found: an existing directory of that name, else a new one (root, 0700), charged to root. */
function ensureLostAndFound(
  db: Database.Database,
  now: bigint,
  touched: Set<bigint>,
  recount: Set<bigint>,
): bigint {
  const existing = db
    .prepare(
      'SELECT d.ino, i.type FROM dirents d LEFT JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?',
    )
    .get(ROOT_INO, LOST_AND_FOUND) as { ino: bigint; type: bigint | null } | undefined;
  if (existing) {
    if (existing.type !== DIR)
      throw new FsckError(`cannot adopt orphans: /${LOST_AND_FOUND} exists and is not a directory`);
    return existing.ino;
  }
  const info = db
    .prepare(
      `INSERT INTO inodes (gen, type, mode, nlink, uid, gid, size, rdev, atime, mtime, ctime, btime, parent, target, verifier)
       VALUES (?, ${DIR}, ${0o700}, 2, 0, 0, 0, 0, ?, ?, ?, ?, ?, NULL, NULL)`,
    )
    .run(randomInt(1, 2 ** 31), now, now, now, now, ROOT_INO);
  const ino = BigInt(info.lastInsertRowid);
  db.prepare('INSERT INTO dirents (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(
    ROOT_INO,
    LOST_AND_FOUND,
    ino,
    DIR,
  );
  const charge = db.prepare(
    `INSERT INTO usage (kind, id, bytes, inodes) VALUES (?, 0, 0, 1)
     ON CONFLICT (kind, id) DO UPDATE SET inodes = inodes + 1`,
  );
  charge.run(USAGE_UID);
  charge.run(USAGE_GID);
  touched.add(ROOT_INO);
  recount.add(ROOT_INO);
  return ino;
}

/** Sets every ledger row to the recomputed usage (0 where nothing is owned any more). */
function rewriteLedger(db: Database.Database): void {
  db.prepare(`UPDATE usage SET bytes = 0, inodes = 0 WHERE kind IN (${USAGE_UID}, ${USAGE_GID})`).run();
  const upsert = db.prepare(
    `INSERT INTO usage (kind, id, bytes, inodes) VALUES (?, ?, ?, ?)
     ON CONFLICT (kind, id) DO UPDATE SET bytes = excluded.bytes, inodes = excluded.inodes`,
  );
  for (const r of actualUsage(db)) upsert.run(r.kind, r.id, r.bytes, r.inodes);
}
