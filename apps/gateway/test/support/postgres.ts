import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { onExit } from './cleanup.ts';
import { freePort } from './ports.ts';
import { keepTestOutput } from './tmpdir.ts';
import { mustToolPath, requireTools } from './tools.ts';

/**
 * A real PostgreSQL (Debian's `postgresql` package) for tests: `initdb` into a temp folder,
 * `postgres` on a free loopback port with its socket in that folder, stopped by PID. As root
 * both run as the `postgres` user (initdb refuses root); otherwise as the current user.
 *
 *   const pg = await sharedPostgres();                 // one server per test file (process)
 *   const url = await pg.createDatabase();             // postgres://postgres@127.0.0.1:PORT/cfs_test_…
 *
 * The server is stopped and its folder removed when the test process exits, however it exits.
 */

/** Test options that skip the test when PostgreSQL is not installed (never under CI). */
export function requirePostgres(): { skip?: string } {
  return requireTools('initdb', 'postgres');
}

export interface PostgresOptions {
  /**
   * Extra `-c name=value` server settings, over the defaults. The defaults trade durability
   * across an OS crash for speed (`fsync=off`, `full_page_writes=off`): a commit still writes
   * its WAL to the kernel before it returns (synchronous_commit stays on), so a killed server
   * keeps every committed transaction, which is all a test on one machine can observe.
   * Pass `{ fsync: 'on', full_page_writes: 'on' }` to measure what a real server would do.
   */
  settings?: Record<string, string>;
  /** How long start-up may take before it counts as failed (default 60 s: a loaded 2-core box). */
  startTimeoutMs?: number;
}

export interface PostgresServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The cluster's data directory (PGDATA). */
  readonly dataDir: string;
  /** `initdb`'s major version, e.g. `15`. */
  readonly version: string;
  /** The postmaster's PID while it runs. */
  readonly pid: number | undefined;
  /** `postgres://postgres@127.0.0.1:PORT/DATABASE` (trust authentication: no password). */
  url(database?: string): string;
  /** Creates a database (a fresh `cfs_test_…` name unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs one statement as the superuser on `database` (default `postgres`). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<R[]>;
  /** Fast shutdown (SIGINT to the postmaster: clients are disconnected), then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster and its children: a crash. start() recovers from the WAL. */
  kill(): Promise<void>;
  /** Starts the same cluster on the same port again after stop() or kill(). */
  start(): Promise<void>;
  /** Stops the server and removes its folder (unless KEEP_TEST_OUTPUT is set). */
  destroy(): Promise<void>;
  /** The server's log so far (the last 64 KiB). */
  log(): string;
}

const DEFAULT_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'off',
  full_page_writes: 'off',
  max_connections: '100',
  shared_buffers: '32MB',
  // Tests stop servers under load; a fast shutdown should not wait on a checkpoint spread.
  checkpoint_completion_target: '0.1',
  // Dynamic shared memory as files in the data folder, removed with it. POSIX segments live in
  // /dev/shm (memory) and a SIGKILLed server (the crash tests) leaves them behind: 738 of them,
  // 379 MB, had piled up on this machine after a day of test runs.
  dynamic_shared_memory_type: 'mmap',
};

const LOG_LIMIT = 64 * 1024;

/** uid/gid of the `postgres` user when running as root, so initdb and postgres accept to run. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      'running as root, and initdb refuses root: there is no `postgres` user (apt-get install -y postgresql creates it)',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };
  if (process.env.TZ) env.TZ = process.env.TZ;
  return env;
}

/** PIDs whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last `)`.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

function tail(text: string, chars = 4000): string {
  return text.length > chars ? `…${text.slice(-chars)}` : text;
}

/** Starts a fresh cluster: initdb (about a second here), then the server on a free loopback port. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const initdb = mustToolPath('initdb');
  const postgres = mustToolPath('postgres');
  const identity = serverIdentity();
  const root = mkdtempSync(join(tmpdir(), 'cfs-pg-'));
  const dataDir = join(root, 'data');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let logText = '';
  let removed = false;

  /**
   * SIGKILL to the postmaster and, first, to its children (backends, checkpointer…), so a start
   * right after never meets a shared-memory segment an orphaned backend still holds.
   */
  const killServer = () => {
    const pid = child?.pid;
    if (pid === undefined || child?.exitCode !== null || child?.signalCode !== null) return;
    for (const p of [...childrenOf(pid), pid]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  const removeFolder = () => {
    if (removed) return;
    removed = true;
    if (keepTestOutput()) process.stderr.write(`kept PostgreSQL test cluster: ${root}\n`);
    else rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
  const unregister = onExit(() => {
    killServer();
    removeFolder();
  });

  try {
    if (identity) chownSync(root, identity.uid, identity.gid);
    execFileSync(
      initdb,
      ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...(identity ?? {}) },
    );
  } catch (e) {
    unregister();
    removeFolder();
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`initdb failed: ${err.stderr?.toString('utf8').trim() || err.message}`);
  }
  const version = readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim();
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  let port = 0;

  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;

  async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], database?: string) {
    const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 10_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** One attempt to run the server on `port`; rejects with the log when it exits or never answers. */
  async function launch(): Promise<void> {
    const args = ['-D', dataDir, '-k', root, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const proc = spawn(postgres, args, {
      env: serverEnv(),
      // Not detached: in the test process's group, so a watchdog killing the group kills it too.
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(identity ?? {}),
    });
    child = proc;
    const append = (chunk: Buffer) => {
      logText = (logText + chunk.toString('utf8')).slice(-LOG_LIMIT);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    let gone = false;
    exited = new Promise<void>((resolve) => {
      proc.once('close', () => {
        gone = true;
        resolve();
      });
      proc.once('error', (e) => {
        append(Buffer.from(`spawn failed: ${e.message}\n`));
        gone = true;
        resolve();
      });
    });
    // Only waiting on the server keeps the test process alive; a forgotten one is killed at exit.
    proc.unref();
    for (const stream of [proc.stdout, proc.stderr]) (stream as { unref?: () => void } | null)?.unref?.();

    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (gone) throw new Error(`postgres exited during start-up; log:\n${tail(logText)}`);
      try {
        await query('SELECT 1');
        return;
      } catch {
        if (Date.now() > deadline) {
          await waitExit(0);
          throw new Error(
            `postgres did not accept connections within ${startTimeoutMs} ms; log:\n${tail(logText)}`,
          );
        }
        await sleep(50);
      }
    }
  }

  async function start(): Promise<void> {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const fixedPort = port !== 0;
    for (let attempt = 1; ; attempt++) {
      if (!fixedPort) port = await freePort();
      try {
        await launch();
        return;
      } catch (e) {
        // Another process took the port between freePort() and bind(): try another one.
        const taken = /could not bind|Address already in use/i.test(logText);
        if (fixedPort || !taken || attempt >= 3) throw e;
      }
    }
  }

  /** Waits for the postmaster to exit (held alive meanwhile), SIGKILLing its group after `graceMs`. */
  async function waitExit(graceMs: number): Promise<void> {
    child?.ref();
    for (const stream of [child?.stdout, child?.stderr]) (stream as { ref?: () => void } | null)?.ref?.();
    const timer = setTimeout(killServer, graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  const server: PostgresServer = {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    dataDir,
    version,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    url,
    query,
    async createDatabase(name = `cfs_test_${randomBytes(6).toString('hex')}`) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await query(`CREATE DATABASE "${name}"`);
      return url(name);
    },
    async stop() {
      const pid = server.pid;
      if (pid === undefined) return;
      process.kill(pid, 'SIGINT');
      await waitExit(30_000);
    },
    async kill() {
      if (server.pid === undefined) return;
      killServer();
      await waitExit(0);
    },
    start,
    async destroy() {
      await server.stop();
      unregister();
      removeFolder();
    },
    log: () => logText,
  };

  try {
    await start();
  } catch (e) {
    await server.destroy().catch(() => {});
    throw e;
  }
  return server;
}

let shared: Promise<PostgresServer> | undefined;

/**
 * One server for the whole test file (each file runs in its own process), started on first
 * use; tests isolate themselves with createDatabase() or a schema of their own.
 */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= startPostgres();
  return shared;
}
