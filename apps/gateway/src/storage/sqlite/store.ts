import Database from 'better-sqlite3';
import type { LedgerGate } from '../ledger-gate.ts';
import { initialise } from '../meta/initialise.ts';
import { collectEffects, type Effects } from '../meta/model.ts';
import { driveSync, type Op, type Program } from '../meta/program.ts';
import { STATEMENTS, type StatementName } from '../meta/statements.ts';
import { MetadataStore } from '../meta/store.ts';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';

export type { Effects, EntryChange, NodeSpec } from '../meta/model.ts';
export { MAX_FILE_SIZE, makeClock, ROOT_INO } from '../meta/model.ts';

/**
 * The embedded metadata store (SQLite through better-sqlite3): the programs run synchronously,
 * each in one transaction. Commits are made durable by the caller through the group-commit
 * barrier (durability.ts).
 */
/**
 * How long a write transaction that finds the database locked is tried again, off the event
 * loop, before it fails. A brief lock (another process reading the file with a tool, a slow
 * moment of the checkpoint thread's on a loaded machine) is waited out; a held one is not.
 */
const LOCK_WAIT_MS = 500;
/** The longest pause between two tries (they start 1 ms apart and space out). */
const LOCK_RETRY_MAX_MS = 50;

/** SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT, BUSY_RECOVERY, BUSY_TIMEOUT). */
function isLocked(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

export class SqliteMetadataStore extends MetadataStore {
  readonly kind = 'sqlite';
  readonly db: Database.Database;
  private readonly prepared = new Map<StatementName, Database.Statement>();
  /** Set while new write transactions wait (a checkpoint catching up with the WAL). */
  private held: Promise<void> | undefined;

  constructor(file: string, gate: LedgerGate) {
    super(gate);
    this.db = new Database(file);
    // WAL with synchronous=NORMAL: commits are atomic and survive a process crash at once;
    // they become durable when the group-commit barrier fdatasyncs the WAL (durability.ts).
    // Checkpoints run on a worker thread, so auto-checkpoint (which fsyncs inline) is off.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('wal_autocheckpoint = 0');
    // This connection is the database's only writer (one gateway per state folder; the
    // checkpointer writes only with our writes held), so a lock is rarely in the way — but
    // SQLite's own wait for one would stall the event loop, every protocol with it. So SQLite
    // waits at most 20 ms, and a transaction that still finds the database locked is tried
    // again off the loop (tx) until LOCK_WAIT_MS; past that it fails, and the error counts
    // toward the circuit breaker. (Opening may wait: a tool reading the database at that
    // moment is not a fault.)
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    this.db.exec(SCHEMA_SQL);
    for (const [name, sql] of Object.entries(STATEMENTS)) {
      this.prepared.set(name as StatementName, this.db.prepare(sql).safeIntegers(true));
    }
    this.tx(() => initialise(this, SCHEMA_VERSION));
    this.db.pragma('busy_timeout = 20');
  }

  private readonly exec = (op: Op): unknown => {
    this.statements++;
    const s = this.prepared.get(op.stmt) as Database.Statement;
    if (op.mode === 'all') return s.all(...op.args);
    if (op.mode === 'get' || s.reader) return s.get(...op.args);
    s.run(...op.args);
    return undefined;
  };

  protected tx<T>(program: () => Program<T>, firstTry?: number): T | Promise<T> {
    if (this.held) return this.held.then(() => this.tx(program, firstTry));
    const made: Effects[] = [];
    let result: T;
    try {
      result = this.db.transaction(() => collectEffects(made, () => driveSync(program(), this.exec)))();
    } catch (e) {
      // Rolled back: nothing of it was written, so it can run again as if for the first time.
      const started = firstTry ?? performance.now();
      const waited = performance.now() - started;
      if (!isLocked(e) || waited >= LOCK_WAIT_MS) throw e;
      this.retries++;
      const delay = Math.min(LOCK_RETRY_MAX_MS, 1 + waited / 4);
      return new Promise((resolve) => setTimeout(resolve, delay)).then(() => this.tx(program, started));
    }
    if (made.length > 0) this.committed?.(made);
    return result;
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
