import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pgConnectionString } from '../../config/control-url.ts';
import type { LedgerGate } from '../ledger-gate.ts';
import { initialise } from '../meta/initialise.ts';
import { driveAsync, type Op, type Program } from '../meta/program.ts';
import { pgText, STATEMENTS, type StatementName } from '../meta/statements.ts';
import { MetadataStore } from '../meta/store.ts';
import { PG_SCHEMA_SQL, PG_SCHEMA_VERSION } from './schema.ts';

export interface PgStoreOptions {
  /** `postgres://user@host:port/db[?schema=name]`; the schema defaults to `claudefs`. */
  url: string;
  /** Connections to the server (default 16): transactions in flight at once. */
  poolSize?: number;
  /** Errors of idle pooled connections (the server went away); the pool replaces them. */
  onConnectionError?: (err: Error) => void;
}

/** Statements that neither write nor lock (see tx: they need no transaction of their own). */
const READ_ONLY: ReadonlySet<StatementName> = new Set<StatementName>([
  'getInode',
  'lookup',
  'lookupRow',
  'hasChildren',
  'readdir',
  'getUsage',
  'allUsage',
  'getXattr',
  'listXattrs',
  'listStreams',
  'extentsIn',
  'allExtents',
  'blobsOf',
  'blobStillUsed',
  'listGc',
  'getDetached',
  'listDetached',
  'getMeta',
  'countInodes',
]);

/** Serialization failure and deadlock: the transaction is run again from the start. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 8;

const TEXTS = Object.fromEntries(
  Object.keys(STATEMENTS).map((n) => [n, pgText(n as StatementName)]),
) as Record<StatementName, string>;

/** BIGINT columns come back as bigint, as better-sqlite3 gives them with safeIntegers. */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (v: string) => BigInt(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function schemaOf(url: string): string {
  const schema = new URL(url).searchParams.get('schema') ?? 'claudefs';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`metadata schema name '${schema}' is not a plain identifier`);
  return schema;
}

/**
 * The scale-out metadata store: the same programs as SQLite's, on PostgreSQL through `pg`,
 * with prepared statements. Each mutation is one READ COMMITTED transaction that locks the
 * rows it changes (directories before their entries, as a VFS does), so concurrent gateway
 * nodes serialize only on the same directory, inode or quota subject; a deadlock or
 * serialization failure runs the program again. A commit is durable when it returns
 * (synchronous_commit), so no barrier follows it.
 */
export class PgMetadataStore extends MetadataStore {
  readonly kind = 'postgres';
  readonly schema: string;
  private readonly onPool: (op: Op) => Promise<unknown>;

  private constructor(
    readonly pool: pg.Pool,
    schema: string,
    gate: LedgerGate,
  ) {
    super(gate);
    this.schema = schema;
    this.onPool = this.execOn(pool);
  }

  static async open(o: PgStoreOptions, gate: LedgerGate): Promise<PgMetadataStore> {
    const schema = schemaOf(o.url);
    const pool = new pg.Pool({
      connectionString: pgConnectionString(o.url),
      max: o.poolSize ?? 16,
      options: `-c search_path=${schema}`,
      types: PG_TYPES,
      connectionTimeoutMillis: 5_000,
      // A server that stops answering fails the call (and counts toward the circuit).
      query_timeout: 10_000,
      keepAlive: true,
      application_name: 'claudefs-metadata',
    });
    // Without a listener an idle connection's error would end the process.
    pool.on('error', (err) => o.onConnectionError?.(err));
    const store = new PgMetadataStore(pool, schema, gate);
    try {
      await store.create();
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
    return store;
  }

  /** Creates the schema and the root directory in an empty database (one node at a time). */
  private async create(): Promise<void> {
    const client = await this.pool.connect();
    const onError = () => {};
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('claudefs-metadata:' || $1::text))`, [
        this.schema,
      ]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(PG_SCHEMA_SQL);
      await driveAsync(initialise(this, PG_SCHEMA_VERSION), this.execOn(client));
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.off('error', onError);
      client.release();
    }
  }

  private execOn(client: pg.ClientBase | pg.Pool): (op: Op) => Promise<unknown> {
    return async (op) => {
      this.statements++;
      const r = await client.query({ name: op.stmt, text: TEXTS[op.stmt], values: op.args as unknown[] });
      return op.mode === 'all' ? r.rows : op.mode === 'get' ? r.rows[0] : undefined;
    };
  }

  protected async tx<T>(program: () => Program<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      // The connection may die between two statements (the server stopped): the next query
      // fails, and the error event must not reach Node's unhandled-error path meanwhile.
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      // BEGIN goes out just before the first statement that writes or locks: under READ
      // COMMITTED a read sees the same committed state in or out of the transaction, and a
      // program that only reads (a write's precheck, most annotation checks) needs neither
      // BEGIN nor COMMIT — two round trips fewer.
      let begun = false;
      const exec = this.execOn(client);
      try {
        const result = await driveAsync(program(), async (op) => {
          if (!begun && !READ_ONLY.has(op.stmt)) {
            await client.query('BEGIN');
            begun = true;
          }
          return exec(op);
        });
        if (begun) await client.query('COMMIT');
        return result;
      } catch (e) {
        try {
          if (begun) await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error;
        }
        const code = (e as { code?: string }).code;
        if (code === undefined || !RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw e;
        this.retries++;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
      await sleep(Math.random() * 2 ** attempt);
    }
  }

  protected read<T>(program: () => Program<T>): Promise<T> {
    return driveAsync(program(), this.onPool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
