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

/** An asynchronous call in flight: when it began, its synchronous part, and whether the watchdog counted it. */
interface Pending {
  started: number;
  own: number;
  hung: boolean;
  /** A background probe (counted by probed()), not a client's call. */
  probe: boolean;
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

/**
 * A backend whose disk is full (ENOSPC, EDQUOT, SQLITE_FULL) is not failing: it answers at
 * once, reads and deletes work, and a delete gives room back. So such an error opens no
 * circuit: writes are told the disk is full (NFS3ERR_NOSPC, S3 507, STATUS_DISK_FULL) rather
 * than to come back later, which a client would do for as long as the disk stays full.
 */
export function isFull(e: unknown): boolean {
  return e instanceof FsError && e.code === 'ENOSPC';
}

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
 * closes it, failure opens it again; while an asynchronous trial is out, other calls are
 * refused as if open (against a hung backend, each would hang too). A call slower than
 * `slowCallMs` is a failure too (it is answered, never abandoned: nothing it wrote can land
 * after a newer write), so a backend that has slowed to a crawl gets cut off and clients are
 * told at once to come back later; one that does not answer at all (a frozen file system, an
 * NFS server gone) is a failure as soon as its call has waited `slowCallMs`, counted by a
 * watchdog then, not when — if ever — it answers.
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
  /** Asynchronous calls not answered yet, for the watchdog. */
  private readonly pending = new Set<Pending>();
  private watchdog: NodeJS.Timeout | undefined;
  /** The half-open trial call in flight, if any. */
  private trial: Pending | undefined;

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
    if (this.state === 'closed') return;
    if (this.state === 'half-open') {
      if (this.trial === undefined) return;
      throw this.unavailable('a trial call is out');
    }
    // Monotonic: a step of the wall clock (NTP on a VM) neither shortens nor stretches the wait.
    if (performance.now() - this.openedMono >= this.options.resetTimeoutMs) {
      this.transition('half-open', 'reset timeout elapsed; trying the backend');
      return;
    }
    throw this.unavailable(`circuit open: ${this.lastError?.message ?? 'failures'}`);
  }

  private unavailable(why: string): FsError {
    return fsError('EAGAIN', `${this.backend} backend unavailable (${why})`);
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
    return this.awaited(r, started, own);
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.guard();
    } catch (e) {
      return Promise.reject(e);
    }
    const started = performance.now();
    let r: Promise<T>;
    try {
      r = fn();
    } catch (e) {
      return Promise.reject(this.classify(e, started, performance.now() - started));
    }
    return this.awaited(r, started, performance.now() - started);
  }

  /** An asynchronous call's answer, watched meanwhile (see watch()). */
  private awaited<T>(r: Promise<T>, started: number, own: number): Promise<T> {
    const p = this.watch(started, own);
    return r.then(
      (v) => {
        if (this.settle(p)) this.answered(started, own);
        return v;
      },
      (e: unknown) => {
        // A call already counted as hung is not counted again; its error is still translated.
        if (this.settle(p)) throw this.classify(e, started, own);
        throw backendFailure(e, this.backend) ?? e;
      },
    );
  }

  /**
   * A background probe: `roundTrip` makes its calls through run/runEither, and its outcome is
   * counted by probed() — a failure when it fails, answers after slowCallMs, or has not
   * answered once it has waited that long (counted then, once).
   */
  async probe(roundTrip: () => Promise<void>): Promise<void> {
    const started = performance.now();
    let p: Pending | undefined;
    try {
      const answered = roundTrip();
      p = this.watch(started, performance.now() - started, true);
      await answered;
    } catch (e) {
      // A full disk fails the probe's write (the health check says so), not the backend.
      if (p === undefined || this.settle(p)) this.probed(isFull(e) ? this.slowness(started, p?.own) : e);
      throw e;
    }
    if (this.settle(p)) this.probed(this.slowness(started, p.own));
  }

  /**
   * Whether the backend looks able to answer now: the circuit closed, and no call of it waiting
   * longer than `ms` (calls are watched only with slowCallMs set).
   */
  answering(ms: number): boolean {
    if (this.state !== 'closed') return false;
    const oldest = this.pending.values().next().value;
    return oldest === undefined || performance.now() - oldest.started <= ms;
  }

  /** Records a call in flight (the half-open trial, when it is one) and starts the watchdog. */
  private watch(started: number, own: number, probe = false): Pending {
    const p: Pending = { started, own, hung: false, probe };
    if (this.state === 'half-open' && !probe) this.trial ??= p;
    if (this.options.slowCallMs === undefined) return p;
    this.pending.add(p);
    if (!this.watchdog) {
      const every = Math.min(1000, Math.max(25, this.options.slowCallMs / 4));
      this.watchdog = setInterval(() => this.sweep(), every);
      this.watchdog.unref();
    }
    return p;
  }

  /** The call answered; whether it still counts (it was not counted as hung already). */
  private settle(p: Pending): boolean {
    this.pending.delete(p);
    if (this.trial === p) this.trial = undefined;
    return !p.hung;
  }

  /**
   * The watchdog's turn: each call waiting past slowCallMs is a failure, once. It stops itself
   * when it finds no call out (not at each answer: calls one after another would make and clear
   * a timer each).
   */
  private sweep(): void {
    const limit = this.options.slowCallMs;
    if (limit === undefined || this.pending.size === 0) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
      return;
    }
    for (const p of this.pending) {
      if (p.hung) continue;
      const ms = this.waited(p.started, p.own);
      if (ms <= limit) continue;
      p.hung = true;
      if (this.trial === p) this.trial = undefined;
      const what = p.probe ? 'probe' : 'call';
      const error = fsError(
        'EIO',
        `${this.backend} backend: ${what} not answered after ${Math.round(ms)} ms (slow_call ${limit} ms)`,
      );
      if (p.probe) this.probed(error);
      else this.failed(error);
    }
  }

  /**
   * How long a call that began at `started` (performance.now()) has waited on its backend:
   * time the event loop stood still meanwhile is not the backend's (loop-stalls.ts), except
   * the `own` milliseconds the call itself held it (its synchronous part).
   */
  private waited(started: number, own: number): number {
    return performance.now() - started - Math.max(0, this.stalls.since(started) - own);
  }

  /**
   * The failure a call or probe that began at `started` (performance.now()) and answered
   * just now stands for when it was slower than `slowCallMs` (see waited()); undefined when
   * it was not.
   */
  private slowness(started: number, own = 0): FsError | undefined {
    const limit = this.options.slowCallMs;
    if (limit === undefined) return undefined;
    const ms = this.waited(started, own);
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
    if (!failure || isFull(failure)) {
      // A namespace error (ENOENT, EACCES, …) is the backend working as it should; so is a
      // full disk: it answers at once, reads and deletes go on, and a write is told so.
      this.answered(started, own);
      return failure ?? e;
    }
    this.failed(failure);
    return failure;
  }

  /**
   * A background probe's outcome (after its calls went through run/runSync). Probe failures
   * are also counted on their own: `failureThreshold` failed probes in a row open the circuit
   * even while client calls that still work (reads, when a lock held by another process or a
   * read-only file system refuses every write) keep resetting the count of consecutive call
   * failures. A full disk is not a failure (isFull).
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
    if (to !== 'half-open') this.trial = undefined;
    if (to === 'closed') this.probeFailures = 0;
    this.onTransition(this, from, reason);
  }
}
