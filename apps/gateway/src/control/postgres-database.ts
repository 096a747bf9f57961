import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { redactUrl } from '../config/backend-url.ts';
import { pgConnectionString } from '../config/control-url.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { PrismaClient as PgPrismaClient } from '../generated/prisma-pg/client.ts';
import type { ControlDatabase } from './database.ts';
import { ControlError } from './errors.ts';
import { readMigrations } from './migrate.ts';
import { applyPgMigrations } from './migrate-pg.ts';

export interface PostgresControlOptions {
  url: string;
  schema: string;
  migrationsDir: string;
  /**
   * Errors of pooled connections nobody is using (the server restarted or went away). The pool
   * drops such a connection and the next operation opens a new one; without a listener Node
   * would end the process on them.
   */
  onConnectionError?: (err: Error) => void;
}

/** The control plane's own connection pool: small (it is not on the data path) and bounded in time. */
const POOL = {
  max: 4,
  connectionTimeoutMillis: 5_000,
  idleTimeoutMillis: 30_000,
  /** Client-side: a server that stops answering fails the operation instead of hanging it. */
  query_timeout: 30_000,
  keepAlive: true,
  application_name: 'claudefs-control',
} as const;

/** A PostgreSQL failure as the operator should read it: which database, and what went wrong. */
export function unavailable(location: string, err: unknown): ControlError {
  const cause = (err as { meta?: { driverAdapterError?: { cause?: { message?: unknown } } } } | null)?.meta
    ?.driverAdapterError?.cause?.message;
  const text =
    err instanceof Error ? err.message || (err as { code?: string }).code || err.name : String(err);
  // The server's own words when the adapter kept them; else the last line of Prisma's message.
  const reason = typeof cause === 'string' ? cause : (text.trim().split('\n').at(-1)?.trim() ?? text);
  return new ControlError('UNAVAILABLE', `control plane database ${location} is unavailable: ${reason}`);
}

/**
 * Prisma's codes for a database it cannot use right now: unreachable (P1001), connect timeout
 * (P1002), server closed the connection (P1017), no pooled connection in time (P2024), and the
 * driver adapter's own (P2037: too many connections).
 */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['P1001', 'P1002', 'P1017', 'P2024', 'P2037']);

/**
 * PostgreSQL's SQLSTATEs for the same, passed through by the adapter: class 08 (connection
 * exception), 57P01-57P03 (shut down by an administrator, crash, not yet accepting) and 53300
 * (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

/**
 * node-postgres's own errors for a connection that died under a query or never came: plain
 * Errors with no code (pg/lib/client.js, pg-pool), which Prisma passes on as they are. Their
 * exact texts are the only thing that tells them apart.
 */
const PG_CONNECTION_LOST: ReadonlySet<string> = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Query read timeout',
]);

function isUnavailable(err: unknown): boolean {
  const e = err as {
    code?: unknown;
    message?: unknown;
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } };
  } | null;
  if (typeof e?.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (typeof e?.message === 'string' && PG_CONNECTION_LOST.has(e.message)) return true;
  const sqlState = e?.meta?.driverAdapterError?.cause?.originalCode;
  return typeof sqlState === 'string' && UNAVAILABLE_SQLSTATE.test(sqlState);
}

/**
 * The control plane on PostgreSQL, in `schema` (created by the first gateway to open it), through
 * Prisma's pg adapter on a pool this module owns. An outage never ends the process: idle
 * connection errors go to `onConnectionError`, operations reject with the driver's error.
 */
export async function openPostgresControlDatabase(o: PostgresControlOptions): Promise<ControlDatabase> {
  const location = `${redactUrl(pgConnectionString(o.url))} (schema ${o.schema})`;
  const onError = (err: Error) => o.onConnectionError?.(err);
  const pool = new pg.Pool({ connectionString: pgConnectionString(o.url), ...POOL });
  pool.on('error', onError);

  let migrations: ControlDatabase['migrations'];
  try {
    const local = readMigrations(o.migrationsDir, 'postgresql');
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw unavailable(location, err);
    }
    // A checked-out client has no pool listener: its socket errors must not go unheard either.
    client.on('error', onError);
    try {
      migrations = await applyPgMigrations(client, o.schema, local);
    } finally {
      client.removeListener('error', onError);
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }

  const adapter = new PrismaPg(pool, {
    schema: o.schema,
    onPoolError: onError,
    onConnectionError: onError,
  });
  const client = new PgPrismaClient({ adapter, errorFormat: 'minimal' });
  // Every operation: an outage becomes one ControlError naming the database, not Prisma's trace.
  const guarded = client.$extends({
    query: {
      async $allOperations({ args, query }) {
        try {
          return await query(args);
        } catch (err) {
          throw isUnavailable(err) ? unavailable(location, err) : err;
        }
      },
    },
  });
  return {
    backend: 'postgres',
    location,
    migrations,
    // Same models, same delegates: see ControlDatabase.
    prisma: guarded as unknown as PrismaClient,
    async close() {
      await client.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}
