import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ControlError } from './errors.ts';
import {
  failedMigrations,
  type LocalMigration,
  type MigrationResult,
  type MigrationRow,
  plan,
} from './migrate.ts';

// Byte-for-byte the table Prisma Migrate's PostgreSQL connector creates, so `prisma migrate
// deploy` run elsewhere (with `?schema=` naming the same schema) reads the same history.
const MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** `"name"` for a schema name checked by parsePgControlUrl (letters, digits, underscore). */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function readRows(client: pg.ClientBase, schema: string): Promise<MigrationRow[]> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
    `${quoteIdent(schema)}._prisma_migrations`,
  ]);
  if (exists.rows[0]?.t == null) return [];
  const r = await client.query<MigrationRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM ${quoteIdent(schema)}._prisma_migrations ORDER BY started_at`,
  );
  return r.rows;
}

/**
 * Applies pending migrations to `schema` (created when missing), recording each in its
 * `_prisma_migrations` as Prisma Migrate does.
 *
 * PostgreSQL runs DDL inside transactions, so all pending migrations and their history rows
 * commit together or not at all: a failing migration leaves nothing behind. Several processes
 * opening the same fresh database at once serialise on a transaction-scoped advisory lock
 * and re-read the history once they hold it, so the later ones find nothing left to do.
 */
export async function applyPgMigrations(
  client: pg.ClientBase,
  schema: string,
  migrations: LocalMigration[],
): Promise<MigrationResult> {
  const quick = plan(migrations, await readRows(client, schema));
  if (quick.pending.length === 0 && quick.failed.length === 0) {
    return { applied: [], edited: quick.edited, unknown: quick.unknown };
  }
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `claudefs control migrations ${schema}`,
    ]);
    const has = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    // Only when missing: a schema an administrator created (and granted) needs no CREATE right.
    if (has.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    await client.query(MIGRATIONS_TABLE_DDL);
    const p = plan(migrations, await readRows(client, schema));
    if (p.failed.length > 0) throw failedMigrations(p.failed);
    for (const m of p.pending) {
      const id = randomUUID();
      await client.query(
        'INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES ($1, $2, clock_timestamp(), $3)',
        [id, m.checksum, m.name],
      );
      try {
        // No parameters: the simple-query protocol, which runs a script of many statements.
        await client.query(m.sql);
      } catch (err) {
        throw new ControlError('MIGRATION', `migration ${m.name} failed: ${(err as Error).message}`);
      }
      await client.query(
        'UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = applied_steps_count + 1 WHERE id = $1',
        [id],
      );
    }
    await client.query('COMMIT');
    return { applied: p.pending.map((m) => m.name), edited: p.edited, unknown: p.unknown };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
