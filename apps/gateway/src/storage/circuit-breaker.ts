import { type LoopStalls, loopStalls } from '../util/loop-stalls.ts';
import { FsError, type FsErrorCode, fsError } from './errors.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';
export type Backend = 'metadata' | 'transport';

export interface BreakerOptions {
  failureThreshold: number;
  resetTimeoutMs: number;
  /**
   * A call that takes longer than this counts as a failure even when it succeeds (its caller
   * still gets its result): a backend that answers only after seconds is down for every client
   * waiting on it. Undefined: never.
   */
  slowCallMs?: number;
}

export interface BreakerSnapshot {
  backend: Backend;
  state: BreakerState;
  consecutiveFailures: number;
  totalFailures: number;
  lastError?: { message: string; at: number };
  openedAt?: number;
  /** When an open circuit lets the next trial call (or background probe) through. */
  nextProbeAt?: number;
}

/** sqlite and errno codes that mean the backend failed, with the namespace code they become. */
const SQLITE_CODES: Array<[string, FsErrorCode]> = [
  ['SQLITE_FULL', 'ENOSPC'],
  ['SQLITE_READONLY', 'EROFS'],
  ['SQLITE_IOERR', 'EIO'],
  ['SQLITE_CANTOPEN', 'EIO'],
  ['SQLITE_CORRUPT', 'EIO'],
  ['SQLITE_NOTADB', 'EIO'],
  ['SQLITE_BUSY', 'EAGAIN'],
  ['SQLITE_LOCKED', 'EAGAIN'],
  ['SQLITE_PERM', 'EIO'],
  ['SQLITE_AUTH', 'EIO'],
];
const ERRNO_CODES: Record<string, FsErrorCode> = { ENOSPC: 'ENOSPC', EDQUOT: 'ENOSPC', EROFS: 'EROFS' };

/** The namespace error a backend failure becomes, or undefined when `e` is not one. */
export function backendFailure(e: unknown, backend: Backend): FsError | undefined {
  if (e instanceof FsError) return undefined;
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    const hit = SQLITE_CODES.find(([prefix]) => code.startsWith(prefix));
    // SQLite's message names only the primary code; the extended one says which lock or read.
    return fsError(hit?.[1] ?? 'EIO', `${backend} backend: ${message} (${code})`);
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return fsError(ERRNO_CODES[code] ?? 'EIO', `${backend} backend: ${message}`);
  }
  return fsError('EIO', `${backend} backend: ${message}`);
}

/**
 * A circuit breaker per backend: `failureThreshold` consecutive backend failures open it;
 * while open every call is refused at once with EAGAIN; after `resetTimeoutMs` the next call —
 * a client's or the health monitor's background probe — is the half-open trial: success
 * closes it, failure opens it again. A call slower than `slowCallMs` is a failure too (it is
 * answered, never abandoned: nothing it wrote can land after a newer write), so a backend
 * that has slowed to a crawl gets cut off and clients are told at once to come back later.
 * Written here rather than taken from cockatiel because
 * the metadata path is synchronous (better-sqlite3) and cockatiel only wraps async calls.
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  private consecutive = 0;
  /** Background probes failed in a row; only a probe that succeeds resets it (see probed()). */
  private probeFailures = 0;
  private total = 0;
  private lastError: { message: string; at: number } | undefined;
  /** When it opened: wall-clock ms for the operator's view, and monotonic ms for the wait. */
  private openedAt: number | undefined;
  private openedMono = 0;

  constructor(
    readonly backend: Backend,
    private options: BreakerOptions,
    private readonly onTransition: (b: CircuitBreaker, from: BreakerState, reason: string) => void = () => {},
    private readonly stalls: LoopStalls = loopStalls,
  ) {
    stalls.start();
  }

  configure(options: BreakerOptions): void {
    this.options = options;
  }

  /** Throws EAGAIN while open; moves to half-open once the reset timeout has passed. */
  guard(): void {
    if (this.state !== 'open') return;
    // Monotonic: a step of the wall clock (NTP on a VM) neither shortens nor stretches the wait.
    if (performance.now() - this.openedMono >= this.options.resetTimeoutMs) {
      this.transition('half-open', 'reset timeout elapsed; trying the backend');
      return;
    }
    throw fsError(
      'EAGAIN',
      `${this.backend} backend unavailable (circuit open: ${this.lastError?.message ?? 'failures'})`,
    );
  }

  succeeded(): void {
    this.consecutive = 0;
    if (this.state !== 'closed') this.transition('closed', 'backend answered');
  }

  failed(error: FsError): void {
    this.consecutive++;
    this.total++;
    this.lastError = { message: error.message, at: Date.now() };
    if (
      this.state === 'half-open' ||
      (this.state === 'closed' && this.consecutive >= this.options.failureThreshold)
    ) {
      this.opened();
      this.transition('open', error.message);
    } else if (this.state === 'open') {
      this.opened();
    }
  }

  /** Like run, for a call that answers synchronously or with a promise. */
  runEither<T>(fn: () => T | Promise<T>): T | Promise<T> {
    this.guard();
    const started = performance.now();
    let r: T | Promise<T>;
    try {
      r = fn();
    } catch (e) {
      throw this.classify(e, started, performance.now() - started);
    }
    const own = performance.now() - started;
    if (!(r instanceof Promise)) {
      this.answered(started, own);
      return r;
    }
    return r.then(
      (v) => {
        this.answered(started, own);
        return v;
      },
      (e: unknown) => {
        throw this.classify(e, started, own);
      },
    );
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.guard();
    const started = performance.now();
    let own = 0;
    try {
      const pending = fn();
      own = performance.now() - started;
      const r = await pending;
      this.answered(started, own);
      return r;
    } catch (e) {
      throw this.classify(e, started, own);
    }
  }

  /**
   * The failure a call or probe that began at `started` (performance.now()) and answered
   * just now stands for when it was slower than `slowCallMs`; undefined when it was not. Time
   * the event loop stood still meanwhile is not the backend's (loop-stalls.ts), except the
   * `own` milliseconds the call itself held it (its synchronous part).
   */
  slowness(started: number, own = 0): FsError | undefined {
    const limit = this.options.slowCallMs;
    if (limit === undefined) return undefined;
    const ms = performance.now() - started - Math.max(0, this.stalls.since(started) - own);
    if (ms <= limit) return undefined;
    return fsError('EIO', `${this.backend} backend: slow call: ${Math.round(ms)} ms (slow_call ${limit} ms)`);
  }

  /** A call that answered (a result, or a namespace error): a success unless it was slow. */
  private answered(started: number, own: number): void {
    const slow = this.slowness(started, own);
    if (slow) this.failed(slow);
    else this.succeeded();
  }

  private classify(e: unknown, started: number, own: number): unknown {
    const failure = backendFailure(e, this.backend);
    if (!failure) {
      // A namespace error (ENOENT, EACCES, …) is the backend working as it should.
      this.answered(started, own);
      return e;
    }
    this.failed(failure);
    return failure;
  }

  /**
   * A background probe's outcome (after its calls went through run/runSync). Probe failures
   * are also counted on their own: `failureThreshold` failed probes in a row open the circuit
   * even while client calls that still work (reads, when a full disk or a lock held by another
   * process refuses every write) keep resetting the count of consecutive call failures.
   */
  probed(error?: unknown): void {
    if (error === undefined) {
      this.probeFailures = 0;
      return;
    }
    this.probeFailures++;
    if (this.state === 'closed' && this.probeFailures >= this.options.failureThreshold) {
      const message = error instanceof Error ? error.message : String(error);
      this.lastError = { message, at: Date.now() };
      this.opened();
      this.transition('open', `${this.probeFailures} background probes failed in a row: ${message}`);
    }
  }

  /** Operator reset (admin API): closed, counters cleared. */
  reset(): void {
    this.consecutive = 0;
    if (this.state !== 'closed') this.transition('closed', 'reset by operator');
  }

  snapshot(): BreakerSnapshot {
    return {
      backend: this.backend,
      state: this.state,
      consecutiveFailures: this.consecutive,
      totalFailures: this.total,
      lastError: this.lastError,
      openedAt: this.openedAt,
      nextProbeAt: this.state === 'open' ? (this.openedAt ?? 0) + this.options.resetTimeoutMs : undefined,
    };
  }

  private opened(): void {
    this.openedAt = Date.now();
    this.openedMono = performance.now();
  }

  private transition(to: BreakerState, reason: string): void {
    const from = this.state;
    this.state = to;
    if (to === 'closed') this.probeFailures = 0;
    this.onTransition(this, from, reason);
  }
}
