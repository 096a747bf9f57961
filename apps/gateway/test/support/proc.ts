import { type ChildProcess, spawn } from 'node:child_process';
import { onExit } from './cleanup.ts';

export interface SpawnOptions {
  cwd?: string;
  /** Merged over process.env unless `inheritEnv` is false. */
  env?: NodeJS.ProcessEnv;
  inheritEnv?: boolean;
  /** Written to stdin, which is then closed. stdin is /dev/null when omitted. */
  input?: string | Buffer;
  /** Label used in error messages (default: the command). */
  name?: string;
  /** Grace between SIGTERM and SIGKILL in stop() (default 5000 ms). */
  killGraceMs?: number;
  /**
   * Let the running process keep the test process alive, like a plain spawn() (default false:
   * it does so only while something waits on it: `exited`, waitForLine(), stop()).
   */
  keepAlive?: boolean;
  /** Run as this user and group (the test process must be root). */
  uid?: number;
  gid?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessHandle {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Settles when the process has exited. Reading it keeps the test process alive until then. */
  readonly exited: Promise<ExitStatus>;
  /** Output captured so far. */
  stdout(): string;
  stderr(): string;
  /** Both streams, in arrival order. */
  output(): string;
  /**
   * Resolves with the match of the first line (already captured or still to come) matching
   * `pattern`; rejects on timeout or exit, with the output's tail in the message.
   */
  waitForLine(
    pattern: RegExp,
    timeoutMs?: number,
    stream?: 'stdout' | 'stderr' | 'both',
  ): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after the grace period; resolves when the process has exited. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

interface Line {
  stream: 'stdout' | 'stderr';
  text: string;
}

const TAIL_CHARS = 4000;

function tail(text: string): string {
  return text.length > TAIL_CHARS ? `…${text.slice(-TAIL_CHARS)}` : text;
}

/** Signals the process group (the child leads one) and falls back to the PID alone. */
function signalTree(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Starts `command` in its own process group with stdout/stderr captured. A forgotten process
 * never hangs the test file: it does not keep the event loop alive unless waited on (see
 * `keepAlive`), and its group is killed (SIGKILL) when the test process exits.
 */
export function spawnProcess(
  command: string,
  args: readonly string[] = [],
  options: SpawnOptions = {},
): ProcessHandle {
  const name = options.name ?? command;
  const env = options.inheritEnv === false ? { ...options.env } : { ...process.env, ...options.env };
  const child = spawn(command, args, {
    cwd: options.cwd,
    env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });

  const out: string[] = [];
  const err: string[] = [];
  const all: string[] = [];
  const lines: Line[] = [];
  const listeners = new Set<(line: Line) => void>();
  const partial = { stdout: '', stderr: '' };

  const onData = (stream: 'stdout' | 'stderr', chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    (stream === 'stdout' ? out : err).push(text);
    all.push(text);
    const parts = (partial[stream] + text).split('\n');
    partial[stream] = parts.pop() ?? '';
    for (const part of parts) {
      const line = { stream, text: part.replace(/\r$/, '') };
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  };
  let holds = 0;
  let pinned = options.keepAlive === true;
  const setRef = (ref: boolean): void => {
    for (const handle of [child, child.stdout, child.stderr] as const) {
      const h = handle as { ref?: () => void; unref?: () => void } | null;
      if (ref) h?.ref?.();
      else h?.unref?.();
    }
  };
  const hold = (): void => {
    if (holds++ === 0 && !pinned) setRef(true);
  };
  const release = (): void => {
    if (--holds === 0 && !pinned) setRef(false);
  };
  if (!pinned) setRef(false);

  child.stdout?.on('data', (chunk: Buffer) => onData('stdout', chunk));
  child.stderr?.on('data', (chunk: Buffer) => onData('stderr', chunk));
  if (options.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  }

  let exitStatus: ExitStatus | undefined;
  let unregister: () => void = () => {};
  const exited = new Promise<ExitStatus>((resolve, reject) => {
    child.once('error', (error) => {
      unregister();
      reject(new Error(`${name}: failed to start: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      unregister();
      // A final line without a newline still counts as a line.
      for (const stream of ['stdout', 'stderr'] as const) {
        if (partial[stream] !== '') {
          const line = { stream, text: partial[stream] };
          partial[stream] = '';
          lines.push(line);
          for (const listener of listeners) listener(line);
        }
      }
      exitStatus = { code, signal };
      resolve(exitStatus);
    });
  });
  // Callers that never await `exited` must not see an unhandled rejection for a spawn error.
  exited.catch(() => {});

  if (child.pid === undefined) {
    // Spawn failed synchronously (e.g. ENOENT); 'error' follows on next tick.
    return makeHandle(-1);
  }
  const pid = child.pid;
  unregister = onExit(() => signalTree(pid, 'SIGKILL'));
  return makeHandle(pid);

  function makeHandle(handlePid: number): ProcessHandle {
    return {
      pid: handlePid,
      child,
      get exited() {
        if (!pinned) {
          pinned = true;
          setRef(true);
        }
        return exited;
      },
      stdout: () => out.join(''),
      stderr: () => err.join(''),
      output: () => all.join(''),
      waitForLine(pattern, timeoutMs = 10_000, stream = 'both') {
        const wanted = (line: Line): boolean => stream === 'both' || line.stream === stream;
        for (const line of lines) {
          const match = wanted(line) ? line.text.match(pattern) : null;
          if (match) return Promise.resolve(match);
        }
        hold();
        return new Promise<RegExpMatchArray>((resolve, reject) => {
          const describe = (why: string): Error =>
            new Error(`${name}: ${why} waiting for ${pattern}; output:\n${tail(all.join(''))}`);
          const finish = (): void => {
            clearTimeout(timer);
            if (listeners.delete(listener)) release();
          };
          const listener = (line: Line): void => {
            const match = wanted(line) ? line.text.match(pattern) : null;
            if (match) {
              finish();
              resolve(match);
            }
          };
          const timer = setTimeout(() => {
            finish();
            reject(describe(`timed out after ${timeoutMs} ms`));
          }, timeoutMs);
          listeners.add(listener);
          exited.then(
            (status) => {
              if (!listeners.has(listener)) return;
              finish();
              reject(describe(`exited (code ${status.code}, signal ${status.signal})`));
            },
            (error: Error) => {
              finish();
              reject(error);
            },
          );
        });
      },
      async stop(graceMs = options.killGraceMs ?? 5000) {
        if (exitStatus) return exitStatus;
        if (handlePid <= 0) return exited;
        pinned = true;
        setRef(true);
        signalTree(handlePid, 'SIGTERM');
        const timer = setTimeout(() => signalTree(handlePid, 'SIGKILL'), graceMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      },
    };
  }
}

export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
  /** Both streams in arrival order. */
  output: string;
}

/** Runs a command to completion (killed after `timeoutMs`, default 120 s) and returns its output. */
export async function runCommand(
  command: string,
  args: readonly string[] = [],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<RunResult> {
  const handle = spawnProcess(command, args, options);
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void handle.stop(2000);
  }, timeoutMs);
  try {
    const status = await handle.exited;
    const result = { ...status, stdout: handle.stdout(), stderr: handle.stderr(), output: handle.output() };
    if (timedOut) {
      throw new Error(
        `${options.name ?? command}: timed out after ${timeoutMs} ms; output:\n${tail(result.output)}`,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}
