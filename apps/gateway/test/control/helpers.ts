import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  type ControlPlane,
  type OpenControlPlaneOptions,
  openControlPlane,
} from '../../src/control/index.ts';
import {
  applyMigrations,
  type LocalMigration,
  type MigrationProvider,
  type MigrationResult,
  readMigrations,
} from '../../src/control/migrate.ts';
import { applyPgMigrations, quoteIdent } from '../../src/control/migrate-pg.ts';
import { requirePostgres, sharedPostgres } from '../support/postgres.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

export function tempDir(prefix = 'cfs-control-'): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A `_prisma_migrations` row with timestamps as ISO text, whichever database it came from. */
export interface HistoryRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: string | null;
  rolled_back_at: string | null;
  applied_steps_count: number;
}

/** One empty control-plane database of a store, with ways to look underneath the repositories. */
export interface FreshDatabase {
  /** What opens it (`openControlPlane(db.open)`); a child process gets `stateDir` and `url`. */
  open: OpenControlPlaneOptions;
  stateDir: string;
  url: string | undefined;
  migrationsDir: string;
  /** Every byte the database has put on disk (files and WAL), to prove a secret is not among them. */
  storedBytes(): Promise<Buffer>;
  /** Names of the tables the control plane owns, sorted. */
  tables(): Promise<string[]>;
  history(): Promise<HistoryRow[]>;
  /** Runs SQL on the control plane's tables directly (PostgreSQL: in its schema). */
  exec(sql: string): Promise<void>;
  /** The provider's migrator on a plain connection, as openControlPlane runs it. */
  applyMigrations(migrations: LocalMigration[]): Promise<MigrationResult>;
  dispose(): Promise<void>;
}

/** A database the control plane can live on; every control test runs once per store. */
export interface ControlStore {
  name: 'sqlite' | 'postgres';
  provider: MigrationProvider;
  /** `describe` options: skipped (by name, with the apt-get line) when PostgreSQL is missing. */
  options: { skip?: string };
  fresh(): Promise<FreshDatabase>;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : (v as string | null));

const sqliteStore: ControlStore = {
  name: 'sqlite',
  provider: 'sqlite',
  options: {},
  async fresh() {
    const tmp = tempDir();
    const stateDir = join(tmp.dir, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const dbPath = join(stateDir, 'control.db');
    const withDb = <T>(body: (db: Database.Database) => T): T => {
      const db = new Database(dbPath);
      try {
        return body(db);
      } finally {
        db.close();
      }
    };
    const migrationsDir = join(repoRoot, 'prisma/migrations');
    return {
      open: { stateDir },
      stateDir,
      url: undefined,
      migrationsDir,
      async storedBytes() {
        const files = ['control.db', 'control.db-wal'].map((f) => join(stateDir, f)).filter(existsSync);
        return Buffer.concat(files.map((f) => readFileSync(f)));
      },
      async tables() {
        const rows = withDb((db) =>
          db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .all(),
        ) as { name: string }[];
        return rows.map((r) => r.name).sort();
      },
      async history() {
        return withDb((db) =>
          db.prepare('SELECT * FROM "_prisma_migrations" ORDER BY started_at').all(),
        ) as HistoryRow[];
      },
      async exec(sql) {
        withDb((db) => db.exec(sql));
      },
      async applyMigrations(migrations) {
        return withDb((db) => applyMigrations(db, migrations));
      },
      async dispose() {
        tmp[Symbol.dispose]();
      },
    };
  },
};

/** One database per test file on the file's server; each fresh control plane gets a schema of its own. */
let pgDatabase: Promise<{ url: string; name: string }> | undefined;

const postgresStore: ControlStore = {
  name: 'postgres',
  provider: 'postgresql',
  options: requirePostgres(),
  async fresh() {
    const server = await sharedPostgres();
    pgDatabase ??= server.createDatabase().then((url) => ({ url, name: new URL(url).pathname.slice(1) }));
    const database = await pgDatabase;
    const schema = `cp_${randomBytes(6).toString('hex')}`;
    const url = `${database.url}?schema=${schema}`;
    const tmp = tempDir();
    const stateDir = join(tmp.dir, 'state');
    const withClient = async <T>(body: (c: pg.Client) => Promise<T>): Promise<T> => {
      const c = new pg.Client({ connectionString: database.url });
      c.on('error', () => {});
      await c.connect();
      try {
        return await body(c);
      } finally {
        await c.end();
      }
    };
    const migrationsDir = join(repoRoot, 'prisma/postgresql/migrations');
    return {
      open: { stateDir, url },
      stateDir,
      url,
      migrationsDir,
      async storedBytes() {
        await server.query('CHECKPOINT');
        const [row] = await server.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = $1', [
          database.name,
        ]);
        const dirs = [join(server.dataDir, 'base', String(row?.oid)), join(server.dataDir, 'pg_wal')];
        const files = dirs.flatMap((d) =>
          readdirSync(d)
            .map((f) => join(d, f))
            .filter((f) => statSync(f).isFile()),
        );
        return Buffer.concat(files.map((f) => readFileSync(f)));
      },
      async tables() {
        const rows = await server.query<{ table_name: string }>(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
          [schema],
          database.name,
        );
        return rows.map((r) => r.table_name).sort();
      },
      async history() {
        const rows = await withClient(
          async (c) =>
            (await c.query(`SELECT * FROM ${quoteIdent(schema)}._prisma_migrations ORDER BY started_at`))
              .rows,
        );
        return rows.map((r) => ({
          ...r,
          finished_at: iso(r.finished_at),
          rolled_back_at: iso(r.rolled_back_at),
        })) as HistoryRow[];
      },
      async exec(sql) {
        await withClient(async (c) => {
          await c.query(`SET search_path TO ${quoteIdent(schema)}`);
          await c.query(sql);
        });
      },
      async applyMigrations(migrations) {
        return withClient((c) => applyPgMigrations(c, schema, migrations));
      },
      async dispose() {
        tmp[Symbol.dispose]();
      },
    };
  },
};

export const CONTROL_STORES: readonly ControlStore[] = [sqliteStore, postgresStore];

/** The store's shipped migrations. */
export function shippedMigrations(store: ControlStore): LocalMigration[] {
  const dir = join(
    repoRoot,
    store.provider === 'sqlite' ? 'prisma/migrations' : 'prisma/postgresql/migrations',
  );
  return readMigrations(dir, store.provider);
}

/** A control plane on a fresh database of `store` (default SQLite), removed again by `done()`. */
export async function freshControlPlane(store: ControlStore = sqliteStore): Promise<{
  cp: ControlPlane;
  db: FreshDatabase;
  stateDir: string;
  done(): Promise<void>;
}> {
  const db = await store.fresh();
  const cp = await openControlPlane(db.open);
  return {
    cp,
    db,
    stateDir: db.stateDir,
    async done() {
      await cp.close();
      await db.dispose();
    },
  };
}

/**
 * A fresh control plane of `store` for the enclosing suite: opened before its first test, closed
 * and removed after its last. The returned object stands for it in the tests.
 */
export function useFreshControlPlane(store: ControlStore): ControlPlane {
  let current: Awaited<ReturnType<typeof freshControlPlane>> | undefined;
  before(async () => {
    current = await freshControlPlane(store);
  });
  after(() => current?.done());
  return new Proxy({} as ControlPlane, {
    get(_target, key) {
      if (!current) throw new Error('the control plane is opened by the suite: use it inside a test');
      return Reflect.get(current.cp, key);
    },
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runNode(args: string[], cwd = repoRoot): Promise<RunResult> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
}
