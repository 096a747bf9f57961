import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import Database from 'better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.ts';
import { ownerOnlyDatabase } from '../util/owner-only.ts';
import type { ControlDatabase } from './database.ts';
import { applyMigrations, type MigrationResult, readMigrations } from './migrate.ts';

/** Opens the SQLite database and brings its schema up to date; owns nothing after returning. */
function prepareDatabase(dbPath: string, migrationsDir: string, busyTimeoutMs: number): MigrationResult {
  const migrations = readMigrations(migrationsDir, 'sqlite');
  // Owner-only before SQLite touches it; SQLite gives -wal/-shm the same mode.
  ownerOnlyDatabase(dbPath);
  const db = new Database(dbPath, { timeout: busyTimeoutMs });
  try {
    // Switching to WAL needs the database to itself; when another process holds it the pragma
    // returns the old mode, or fails SQLITE_BUSY without waiting (the busy handler is skipped
    // where waiting could deadlock), so try again once migrations are through. The process
    // that switches last wins; a database left in rollback mode still works and switches at
    // the next start.
    const wal = () => {
      try {
        return db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
      } catch (e) {
        if (String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY')) return false;
        throw e;
      }
    };
    const walFirst = wal();
    const result = applyMigrations(db, migrations);
    if (!walFirst) wal();
    return result;
  } finally {
    db.close();
  }
}

/** The control plane in one SQLite file (`<state_dir>/control.db` by default). */
export function openSqliteControlDatabase(o: {
  path: string;
  migrationsDir: string;
  busyTimeoutMs: number;
}): ControlDatabase {
  mkdirSync(dirname(o.path), { recursive: true, mode: 0o700 });
  const migrations = prepareDatabase(o.path, o.migrationsDir, o.busyTimeoutMs);
  const prisma = new PrismaClient({
    adapter: new PrismaBetterSqlite3({ url: `file:${o.path}`, timeout: o.busyTimeoutMs }),
  });
  return {
    backend: 'sqlite',
    location: o.path,
    migrations,
    prisma,
    close: () => prisma.$disconnect(),
  };
}
