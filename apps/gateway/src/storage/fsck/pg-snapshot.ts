import Database from 'better-sqlite3';
import pg from 'pg';
import { pgConnectionString } from '../../config/control-url.ts';
import { PG_SCHEMA_VERSION } from '../postgres/schema.ts';
import { PG_TYPES, schemaOf } from '../postgres/store.ts';
import { SCHEMA_SQL } from '../sqlite/schema.ts';
import { FsckError } from './report.ts';

/** Rows fetched per round trip while copying. */
const BATCH = 5000;

/**
 * What each table of the embedded schema is filled from. The tables are the same on both
 * stores, except that PostgreSQL spreads a subject's usage over slots (postgres/schema.ts),
 * summed here into the one row the ledger check compares.
 */
const SOURCES: Record<string, string> = {
  meta: 'SELECT key, value FROM meta',
  inodes: 'SELECT {columns} FROM inodes',
  dirents: 'SELECT cookie, parent, name, ino, type FROM dirents',
  extents: 'SELECT ino, off, len, blob, blob_off FROM extents',
  xattrs: 'SELECT ino, name, value FROM xattrs',
  usage:
    'SELECT kind, id, SUM(bytes)::bigint AS bytes, SUM(inodes)::bigint AS inodes FROM usage GROUP BY kind, id',
  blob_gc: 'SELECT blob FROM blob_gc',
  detached: 'SELECT ino, created, purpose, owner FROM detached',
  inline_data: 'SELECT ino, bytes FROM inline_data',
};

/** Tables a store made by an earlier version may lack (created by the gateway at start-up). */
const OPTIONAL = new Set(['inline_data']);

/**
 * One consistent snapshot of a PostgreSQL metadata store (a REPEATABLE READ, read-only
 * transaction: nothing is locked, gateways keep running), copied into an in-memory SQLite
 * database with the embedded schema, so every fsck check runs on it unchanged. Memory: about
 * the size of the metadata (a few hundred bytes per inode and entry).
 */
export async function snapshotPostgres(url: string): Promise<Database.Database> {
  const schema = schemaOf(url);
  const client = new pg.Client({
    connectionString: pgConnectionString(url),
    options: `-c search_path=${schema}`,
    types: PG_TYPES,
    connectionTimeoutMillis: 5_000,
    application_name: 'claudefs-fsck',
  });
  client.on('error', () => {});
  const db = new Database(':memory:');
  db.defaultSafeIntegers(true);
  try {
    try {
      await client.connect();
    } catch (e) {
      throw new FsckError(`cannot reach the metadata database: ${(e as Error).message}`);
    }
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const present = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    const tables = new Set(present.rows.map((r) => r.table_name));
    const missing = Object.keys(SOURCES).filter((t) => !tables.has(t) && !OPTIONAL.has(t));
    if (missing.length > 0)
      throw new FsckError(`schema ${schema} holds no ClaudeFS metadata (no ${missing.join(', ')} table)`);
    const version = await client.query<{ value: string }>(
      "SELECT value FROM meta WHERE key = 'schema_version'",
    );
    const v = version.rows[0]?.value;
    if (v !== undefined && Number(v) > PG_SCHEMA_VERSION)
      throw new FsckError(`metadata schema ${v} is newer than this fsck understands (${PG_SCHEMA_VERSION})`);
    db.exec(SCHEMA_SQL);
    for (const [table, source] of Object.entries(SOURCES))
      if (tables.has(table)) await copyTable(client, db, table, source);
    await client.query('COMMIT');
    return db;
  } catch (e) {
    db.close();
    if (e instanceof FsckError) throw e;
    throw new FsckError(`cannot read the metadata database: ${(e as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

async function copyTable(
  client: pg.Client,
  db: Database.Database,
  table: string,
  source: string,
): Promise<void> {
  const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map(
    (c) => c.name,
  );
  const insert = db.prepare(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
  );
  const insertAll = db.transaction((rows: Array<Record<string, unknown>>) => {
    for (const r of rows) insert.run(...columns.map((c) => r[c] ?? null));
  });
  const cursor = `fsck_${table}`;
  await client.query(
    `DECLARE ${cursor} NO SCROLL CURSOR FOR ${source.replace('{columns}', columns.join(', '))}`,
  );
  for (;;) {
    const { rows } = await client.query<Record<string, unknown>>(`FETCH ${BATCH} FROM ${cursor}`);
    if (rows.length === 0) break;
    insertAll(rows);
  }
  await client.query(`CLOSE ${cursor}`);
}
