import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { ControlError } from './errors.ts';

export interface LocalMigration {
  /** Folder name, e.g. `20260101000000_init`; migrations apply in name order, as Prisma Migrate does. */
  name: string;
  sql: string;
  /** sha256 hex of migration.sql's bytes, the checksum Prisma Migrate records. */
  checksum: string;
}

export interface MigrationResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Applied migrations whose migration.sql changed since (checksum mismatch). */
  edited: string[];
  /** Migrations recorded in the database that this build does not ship (database is newer). */
  unknown: string[];
}

// Byte-for-byte the table Prisma Migrate's SQLite connector creates, so `prisma migrate deploy`
// run elsewhere reads the same history.
const MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

/** A `_prisma_migrations` row as far as planning needs it (timestamps as the driver returns them). */
export interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: string | Date | null;
  rolled_back_at: string | Date | null;
}

export type MigrationProvider = 'sqlite' | 'postgresql';

/** Each provider's migrations folder in the repository (scripts/prisma-schemas.mjs writes both). */
const MIGRATIONS_FOLDER: Record<MigrationProvider, string[]> = {
  sqlite: ['prisma', 'migrations'],
  postgresql: ['prisma', 'postgresql', 'migrations'],
};

/** Finds the provider's migrations folder by walking up from this file, so it works from src/ and from a build output. */
export function defaultMigrationsDir(provider: MigrationProvider = 'sqlite'): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ...MIGRATIONS_FOLDER[provider]);
    if (existsSync(join(candidate, 'migration_lock.toml'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new ControlError(
        'MIGRATION',
        `${MIGRATIONS_FOLDER[provider].join('/')} not found above ${fileURLToPath(import.meta.url)}`,
      );
    }
    dir = parent;
  }
}

export function readMigrations(
  migrationsDir: string,
  provider: MigrationProvider = 'sqlite',
): LocalMigration[] {
  const dir = resolve(migrationsDir);
  const lock = readFileSync(join(dir, 'migration_lock.toml'), 'utf8');
  if (!new RegExp(`^\\s*provider\\s*=\\s*"${provider}"\\s*$`, 'm').test(lock)) {
    throw new ControlError(
      'MIGRATION',
      `${join(dir, 'migration_lock.toml')} is not for provider "${provider}"`,
    );
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return {
        name,
        sql: bytes.toString('utf8'),
        checksum: createHash('sha256').update(bytes).digest('hex'),
      };
    });
}

/** Prisma Migrate's timestamp text for SQLite, e.g. `2026-01-01T12:00:00.123+00:00`. */
function prismaNow(): string {
  return new Date().toISOString().replace('Z', '+00:00');
}

function tableExists(db: Database.Database): boolean {
  return (
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'").get() !==
    undefined
  );
}

function readRows(db: Database.Database): MigrationRow[] {
  if (!tableExists(db)) return [];
  return db
    .prepare(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
    )
    .all() as MigrationRow[];
}

/** What applying `local` over the recorded history would do; the same for every provider. */
export function plan(local: LocalMigration[], rows: MigrationRow[]) {
  const live = rows.filter((r) => r.rolled_back_at === null);
  const failed = live.filter((r) => r.finished_at === null).map((r) => r.migration_name);
  const done = new Map(live.filter((r) => r.finished_at !== null).map((r) => [r.migration_name, r.checksum]));
  const names = new Set(local.map((m) => m.name));
  return {
    failed,
    pending: local.filter((m) => !done.has(m.name)),
    edited: local.filter((m) => done.has(m.name) && done.get(m.name) !== m.checksum).map((m) => m.name),
    unknown: [...done.keys()].filter((n) => !names.has(n)),
  };
}

export function failedMigrations(names: string[]): ControlError {
  return new ControlError(
    'MIGRATION',
    `migration ${names.join(', ')} is recorded as failed in _prisma_migrations; resolve it ` +
      '(`prisma migrate resolve`) before starting',
  );
}

/**
 * Applies pending migrations, recording each in `_prisma_migrations` as Prisma Migrate does.
 *
 * Safe when several processes open the same fresh database at once: all work happens inside one
 * BEGIN IMMEDIATE transaction (writers queue on the connection's busy_timeout), and the history
 * is re-read after the lock is taken, so the loser of the race finds nothing left to do.
 * Everything commits or nothing does: a failing migration leaves no half-applied schema and no
 * failed row behind. Foreign keys are off while applying, as SQLite requires for Prisma's
 * table-redefinition migrations, and checked before commit.
 */
export function applyMigrations(db: Database.Database, migrations: LocalMigration[]): MigrationResult {
  const quick = plan(migrations, readRows(db));
  if (quick.pending.length === 0 && quick.failed.length === 0) {
    return { applied: [], edited: quick.edited, unknown: quick.unknown };
  }

  const fkWasOn = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(MIGRATIONS_TABLE_DDL);
    const p = plan(migrations, readRows(db));
    if (p.failed.length > 0) throw failedMigrations(p.failed);
    const insert = db.prepare(
      'INSERT INTO "_prisma_migrations" (id, checksum, started_at, migration_name) VALUES (?, ?, ?, ?)',
    );
    const finish = db.prepare(
      'UPDATE "_prisma_migrations" SET finished_at = ?, applied_steps_count = applied_steps_count + 1 WHERE id = ?',
    );
    for (const m of p.pending) {
      const id = randomUUID();
      insert.run(id, m.checksum, prismaNow(), m.name);
      try {
        db.exec(m.sql);
      } catch (err) {
        throw new ControlError('MIGRATION', `migration ${m.name} failed: ${(err as Error).message}`);
      }
      finish.run(prismaNow(), id);
    }
    const violations = db.pragma('foreign_key_check') as unknown[];
    if (violations.length > 0) {
      throw new ControlError('MIGRATION', `migrations left ${violations.length} foreign-key violation(s)`);
    }
    db.exec('COMMIT');
    return { applied: p.pending.map((m) => m.name), edited: p.edited, unknown: p.unknown };
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  } finally {
    if (fkWasOn) db.pragma('foreign_keys = ON');
  }
}
