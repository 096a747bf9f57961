import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { LedgerGate } from '../ledger-gate.ts';
import { initialise } from '../meta/initialise.ts';
import { collectEffects, type Effects } from '../meta/model.ts';
import { driveSync, type Op, type Program } from '../meta/program.ts';
import { STATEMENTS, type StatementName } from '../meta/statements.ts';
import { type Awaitable, MetadataStore } from '../meta/store.ts';
import { type RowBuilder, rowBuilder } from './row-builder.ts';
import { ADDED_COLUMNS, REBUILT_TABLES, SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';

export type { Effects, EntryChange, NodeSpec } from '../meta/model.ts';
export { MAX_FILE_SIZE, makeClock, ROOT_INO } from '../meta/model.ts';

/**
 * How long a write transaction that finds the database locked is tried again, off the event
 * loop, before it fails: long enough for the brief locks SQLite itself takes (a connection
 * that reads the WAL index while our commit rewrites it takes the write lock to read it again,
 * and on a loaded machine its thread can be preempted holding it), short enough that a lock
 * held by another process still answers clients within 50 ms.
 */
const LOCK_WAIT_MS = 30;

/** SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT, BUSY_RECOVERY, BUSY_TIMEOUT). */
function isLocked(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * The embedded metadata store (SQLite through better-sqlite3): the programs run synchronously,
 * each in one transaction. Commits are made durable by the caller through the group-commit
 * barrier (durability.ts).
 */
export class SqliteMetadataStore extends MetadataStore {
  readonly kind = 'sqlite';
  readonly db: Database.Database;
  /** A program in one transaction, collecting its effects: made once (making one costs ~5 µs). */
  private readonly inTransaction: (program: () => Program<unknown>, made: Effects[]) => unknown;
  /** Each statement, and for one that answers rows the builder of its row objects (raw rows). */
  private readonly prepared = new Map<
    StatementName,
    { s: Database.Statement; row: RowBuilder | undefined }
  >();
  /** Set while new write transactions wait (a checkpoint catching up with the WAL). */
  private held: Promise<void> | undefined;
  /** Set while write transactions wait for the database's lock to be tried again (afterLock). */
  private lockWait: Promise<void> | undefined;
  /** The last wait's length in ms (0 once a write commits), and the error that caused it. */
  private lockDelay = 0;
  private lockError: unknown;
  /**
   * Statements that write run so far by this connection (rolled back or not): what tells the
   * WAL barrier which commits a flush covers (one that starts after the last write covers all).
   */
  writes = 0;

  /** The database file opened (device and inode): the probe tells when the path no longer names it. */
  private readonly opened: { dev: number; ino: number };

  constructor(
    private readonly file: string,
    gate: LedgerGate,
  ) {
    super(gate);
    this.db = new Database(file);
    const st = statSync(file);
    this.opened = { dev: st.dev, ino: st.ino };
    // WAL with synchronous=NORMAL: commits are atomic and survive a process crash at once;
    // they become durable when the group-commit barrier fdatasyncs the WAL (durability.ts).
    // Checkpoints run on a worker thread, so auto-checkpoint (which fsyncs inline) is off.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('wal_autocheckpoint = 0');
    // This connection is the database's only writer (one gateway per state folder; the
    // checkpointer writes only with our writes held), so a lock is rarely in the way, and
    // SQLite's own wait for one would stall the event loop, every protocol with it. So SQLite
    // waits at most 2 ms; a write transaction that still finds the database locked is tried
    // again from a timer (tx) for up to LOCK_WAIT_MS, and then fails: the error counts toward
    // the circuit breaker. (Opening may wait: a tool reading the database at that moment is
    // not a fault.)
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    // A statement with RETURNING holds its rows in a temporary table. With temporary tables
    // in files (SQLite's default), each one costs a pager of its own: an UPDATE … RETURNING *
    // of one inode row took 27 µs, against 5 µs in memory (and 1 µs without RETURNING).
    this.db.pragma('temp_store = MEMORY');
    this.db.exec(SCHEMA_SQL);
    for (const { table, old, create, columns } of REBUILT_TABLES) {
      const made = this.db
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
        .get(table) as { sql: string } | undefined;
      if (!made || !old.test(made.sql)) continue;
      this.db.transaction(() => {
        this.db.exec(create);
        this.db.exec(`INSERT INTO ${table}_rebuilt (${columns}) SELECT ${columns} FROM ${table}`);
        this.db.exec(`DROP TABLE ${table}`);
        this.db.exec(`ALTER TABLE ${table}_rebuilt RENAME TO ${table}`);
      })();
    }
    for (const { table, column, sql } of ADDED_COLUMNS) {
      const columns = this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
      if (!columns.some((c) => c.name === column)) this.db.exec(sql);
    }
    for (const [name, sql] of Object.entries(STATEMENTS)) {
      const s = this.db.prepare(sql).safeIntegers(true);
      const row = s.reader
        ? rowBuilder(
            s
              .raw(true)
              .columns()
              .map((c) => c.name),
          )
        : undefined;
      this.prepared.set(name as StatementName, { s, row });
    }
    this.inTransaction = this.db.transaction((program: () => Program<unknown>, made: Effects[]) =>
      collectEffects(made, () => driveSync(program(), this.exec)),
    );
    this.tx(() => initialise(this, SCHEMA_VERSION));
    this.db.pragma('busy_timeout = 2');
  }

  /** The health probe's write, after the check every write makes (checkFile). */
  override probeWrite(): Awaitable<void> {
    this.checkFile();
    return super.probeWrite();
  }

  /**
   * Throws when the database's path no longer names the file this process writes: removed
   * (`rm meta.db*`) or replaced under the running gateway, every later commit would be lost at
   * the next start. Each write checks (a stat, a few µs): it fails as a backend failure — the
   * circuit opens and clients are told to retry — instead of being acknowledged.
   */
  private checkFile(): void {
    const st = statSync(this.file, { throwIfNoEntry: false });
    if (st && st.dev === this.opened.dev && st.ino === this.opened.ino) return;
    throw new Error(
      `the database ${this.file} was ${st ? 'replaced' : 'removed'} under the running gateway (its writes go to a file no path names): stop the gateway and restore the file`,
    );
  }

  private readonly exec = (op: Op): unknown => {
    this.statements++;
    const { s, row } = this.prepared.get(op.stmt)!;
    if (!s.readonly) this.writes++;
    if (row) {
      if (op.mode === 'all') return (s.all(...op.args) as unknown[][]).map(row);
      const values = s.get(...op.args) as unknown[] | undefined;
      return values && row(values);
    }
    // A program that asks rows of a statement answering none is wrong: said, not run.
    if (op.mode !== 'run') throw new TypeError(`statement ${op.stmt} answers no rows (${op.mode})`);
    s.run(...op.args);
    return undefined;
  };

  protected tx<T>(program: () => Program<T>, firstTry?: number): T | Promise<T> {
    this.checkFile();
    if (this.held) return this.held.then(() => this.tx(program, firstTry));
    if (this.lockWait) {
      // Still locked when a write last tried: this one's wait starts now, and one that has
      // waited its time fails without trying.
      const since = firstTry ?? performance.now();
      if (performance.now() - since >= LOCK_WAIT_MS) return Promise.reject(this.lockError);
      return this.lockWait.then(() => this.tx(program, since));
    }
    const made: Effects[] = [];
    let result: T;
    try {
      result = this.inTransaction(program, made) as T;
    } catch (e) {
      if (!isLocked(e)) throw e;
      // A write's first try that finds the lock starts the waits from the shortest again.
      if (firstTry === undefined) this.lockDelay = 0;
      // Rolled back: nothing of it was written, so it can run again as if for the first time.
      return this.afterLock(e, program, firstTry ?? performance.now());
    }
    this.lockDelay = 0;
    if (made.length > 0) this.committed?.(made);
    return result;
  }

  /**
   * A write found the database locked: every write waits for one timer, whose first write then
   * tries the lock for all of them (SQLite's short wait is not paid once per write); the timers
   * space out (1, 3, 7, 15 ms…, none past the end of the wait that caused it). A write that has
   * waited LOCK_WAIT_MS fails with the lock's error.
   */
  private afterLock<T>(e: unknown, program: () => Program<T>, started: number): Promise<T> {
    this.lockError = e;
    const left = LOCK_WAIT_MS - (performance.now() - started);
    this.lockDelay = Math.max(1, Math.min(1 + 2 * this.lockDelay, left));
    const wait = new Promise<void>((resolve) =>
      setTimeout(() => {
        if (this.lockWait === wait) this.lockWait = undefined;
        resolve();
      }, this.lockDelay),
    );
    this.lockWait = wait;
    if (left <= 0) return Promise.reject(e);
    this.retries++;
    return wait.then(() => this.tx(program, started));
  }

  /**
   * Makes new write transactions wait, in order, until the returned release is called; reads
   * go on. The checkpointer asks for it for the last, short pass of a checkpoint, so that the
   * WAL is wholly copied when the next write begins and SQLite starts the WAL over.
   */
  holdWrites(): () => void {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = () => {
        if (this.held === held) this.held = undefined;
        resolve();
      };
    });
    this.held = held;
    return release;
  }

  protected read<T>(program: () => Program<T>): T {
    return driveSync(program(), this.exec);
  }

  close(): void {
    this.db.close();
  }
}
