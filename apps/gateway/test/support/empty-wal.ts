import Database from 'better-sqlite3';

/**
 * Empties a SQLite database's WAL (a TRUNCATE checkpoint, tried again while another connection
 * is busy), so that its next commit must grow a file: SQLite reuses a WAL's room after a
 * checkpoint, and a small commit on a disk filled without this would still succeed.
 */
export function emptyWal(dbPath: string): void {
  const db = new Database(dbPath);
  try {
    for (let i = 0; ; i++) {
      const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
      if (r?.busy === 0) return;
      if (i === 1000) throw new Error(`the WAL of ${dbPath} could not be checkpointed (busy)`);
    }
  } finally {
    db.close();
  }
}
