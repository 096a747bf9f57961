import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import type { Protocol } from '../config/types.ts';

/** How often contention is judged. */
const WINDOW_MS = 100;
/** Event-loop utilization from which the loop counts as saturated. */
const SATURATED = 0.9;
/**
 * S3 requests allowed at once while the loop is saturated and NFS or SMB clients are waiting
 * on it. One S3 request (HTTP parsing, signature, hashing, a body) costs the loop what tens of
 * NFS GETATTRs or SMB opens do, and S3 clients keep many in flight: left alone they take the
 * loop. Measured with `npm run bench -- mixed` (8 S3 SDK clients, 8 NFS sessions, 4 SMB
 * connections), as shares of each protocol's solo rate: unlimited, S3 0.83×, NFS 0.19×, SMB
 * 0.10×; two at once, 0.50× / 0.25× / 0.17×; one at once, 0.28× / 0.33× / 0.26×.
 */
const CONTENDED_S3_IN_FLIGHT = 1;

/**
 * NFS and SMB requests in one window that show clients waiting on the loop. Fewer is a
 * trickle — the gateway's own health probes (an RPC NULL, an SMB NEGOTIATE), a client now and
 * then — which a saturated loop still serves in time.
 */
const MIN_OTHER_REQUESTS = 8;

/**
 * The longest an S3 request waits for its turn: one that holds the turn while its client is
 * slow to send a body must not hold up the others for longer.
 */
export const MAX_WAIT_MS = 100;

/** Requests started so far, per protocol (the connection registry counts them). */
export type StartCounts = ReadonlyMap<Protocol, number>;

/**
 * Keeps S3 from starving NFS and SMB on the one event loop they share. Every WINDOW_MS the
 * loop's utilization is sampled; while it is saturated and NFS or SMB requests arrived in the
 * window (MIN_OTHER_REQUESTS at least), S3 runs at most CONTENDED_S3_IN_FLIGHT requests at once
 * and the others wait their turn (in order, MAX_WAIT_MS at most; nothing is refused).
 * Otherwise S3 is not limited. Inactive until `start`.
 */
export class LoopShare {
  private timer: NodeJS.Timeout | undefined;
  private last: EventLoopUtilization | undefined;
  private lastStarts = new Map<Protocol, number>();
  private running = 0;
  private readonly waiting: Array<{ go: () => void; timer: NodeJS.Timeout }> = [];
  /** Whether S3 is being held to its contended share now. */
  contended = false;
  /** S3 requests that had to wait for a turn. */
  queued = 0;

  constructor(
    private readonly starts: () => StartCounts,
    private readonly utilization: (last?: EventLoopUtilization) => EventLoopUtilization = (l) =>
      performance.eventLoopUtilization(l),
  ) {}

  start(): void {
    if (this.timer) return;
    this.last = this.utilization();
    this.lastStarts = new Map(this.starts());
    this.timer = setInterval(() => this.judge(), WINDOW_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.contended = false;
    this.admit();
  }

  /** One window's verdict (the timer calls it; tests call it directly). */
  judge(): void {
    const window = this.utilization(this.last);
    this.last = this.utilization();
    const now = this.starts();
    let others = 0;
    for (const p of ['nfs', 'smb'] as const) others += (now.get(p) ?? 0) - (this.lastStarts.get(p) ?? 0);
    this.lastStarts = new Map(now);
    this.contended = window.utilization >= SATURATED && others >= MIN_OTHER_REQUESTS;
    this.admit();
  }

  /** An S3 request begins: undefined when it may run now, else a promise of its turn. */
  enter(): Promise<void> | undefined {
    if (!this.contended || this.running < CONTENDED_S3_IN_FLIGHT) {
      this.running++;
      return undefined;
    }
    this.queued++;
    return new Promise((resolve) => {
      const w = {
        go: resolve,
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(w);
          if (at < 0) return;
          this.waiting.splice(at, 1);
          this.running++;
          resolve();
        }, MAX_WAIT_MS),
      };
      this.waiting.push(w);
    });
  }

  /** An S3 request that entered is done. */
  leave(): void {
    this.running--;
    this.admit();
  }

  private admit(): void {
    while (this.waiting.length > 0 && (!this.contended || this.running < CONTENDED_S3_IN_FLIGHT)) {
      this.running++;
      const w = this.waiting.shift()!;
      clearTimeout(w.timer);
      w.go();
    }
  }
}
