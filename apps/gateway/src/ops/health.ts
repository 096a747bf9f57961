import { monitorEventLoopDelay } from 'node:perf_hooks';

import type { HealthCheck as CheckResult, HealthReport, HealthStatus } from '@claudefs/api';
import { type LoopStalls, loopStalls, loopTimeout } from '../util/loop-stalls.ts';

export type { CheckResult, HealthReport, HealthStatus };

/** A probe: resolves (optionally with a degraded verdict and a message) or throws when unhealthy. */
export interface HealthCheck {
  name: string;
  timeoutMs?: number;
  /** A probe slower than this is reported degraded even when it succeeds. */
  slowMs?: number;
  run(): Promise<{ status?: HealthStatus; message?: string } | undefined>;
}

/** The message of a check that reads unhealthy only because the gateway drains on purpose. */
export const DRAINING = 'draining';

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

export function worst(statuses: HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'healthy');
}

/**
 * Runs every probe in the background on an interval and serves the latest results, so
 * `/health` answers at once and an outage shows with no client traffic.
 */
export class HealthMonitor {
  private readonly checks: HealthCheck[] = [];
  private results = new Map<string, CheckResult>();
  private drained: ReadonlySet<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly stalls: LoopStalls = loopStalls,
  ) {
    stalls.start();
  }

  add(check: HealthCheck): void {
    this.checks.push(check);
  }

  start(): Promise<void> {
    this.timer = setInterval(() => void this.probeAll(), this.intervalMs);
    this.timer.unref();
    return this.probeAll();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Runs all probes now (concurrently); overlapping calls share one run. `fresh`: the run must
   * start after this call — one already in flight began before what the caller just changed (a
   * drain ending, a fault repaired), so it is waited out and the probes run again.
   */
  probeAll(o: { fresh?: boolean } = {}): Promise<void> {
    if (o.fresh && this.running) return this.running.then(() => this.probeAll());
    this.running ??= Promise.all(this.checks.map((c) => this.probe(c))).then((all) => {
      this.results = new Map(all.map((r) => [r.name, r]));
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * One probe. Its timeout and its slowness count only the time the event loop ran: after the
   * process stood still (a VM pause), a probe in flight answers late, and its timer comes due
   * before its answer is read — the gateway would call itself unhealthy for having been paused.
   */
  private async probe(check: HealthCheck): Promise<CheckResult> {
    const started = performance.now();
    const timeoutMs = check.timeoutMs ?? 2000;
    let cancel: (() => void) | undefined;
    try {
      const outcome = await Promise.race([
        check.run(),
        new Promise<never>((_, reject) => {
          cancel = loopTimeout(timeoutMs, () => reject(new Error(`probe timed out after ${timeoutMs} ms`)), {
            stalls: this.stalls,
          });
        }),
      ]);
      const duration = performance.now() - started;
      let status = outcome?.status ?? 'healthy';
      let message = outcome?.message ?? '';
      const ran = this.stalls.ranSince(started);
      if (status === 'healthy' && check.slowMs !== undefined && ran > check.slowMs) {
        status = 'degraded';
        message = `slow probe: ${Math.round(ran)} ms (threshold ${check.slowMs} ms)`;
      }
      return { name: check.name, status, message, duration_ms: Math.round(duration) };
    } catch (e) {
      return {
        name: check.name,
        status: 'unhealthy',
        message: e instanceof Error ? e.message : String(e),
        duration_ms: Math.round(performance.now() - started),
      };
    } finally {
      cancel?.();
    }
  }

  /**
   * A planned drain laid over the probes: while set, the named checks read unhealthy with the
   * message "draining" (so /health answers 503 and a load balancer takes the node out) and the
   * report says `draining`, so the console shows a planned drain rather than an outage. Probes keep running; the other checks keep reporting the truth.
   */
  setDrained(checks: ReadonlySet<string> | undefined): void {
    this.drained = checks;
  }

  report(): HealthReport {
    const checks = this.checks.map((c): CheckResult => {
      const result = this.results.get(c.name) ?? {
        name: c.name,
        status: 'unhealthy',
        message: 'not probed yet',
        duration_ms: 0,
      };
      return this.drained?.has(c.name) ? { ...result, status: 'unhealthy', message: DRAINING } : result;
    });
    return {
      overall: worst(checks.map((c) => c.status)),
      checks,
      timestamp: Math.floor(Date.now() / 1000),
      draining: this.drained !== undefined,
    };
  }
}

/** The gateway process itself: event-loop lag and memory, plus whatever state it reports. */
export function processCheck(
  state: () => { status?: HealthStatus; message?: string } | undefined,
): HealthCheck {
  const lag = monitorEventLoopDelay({ resolution: 20 });
  let measuring = false;
  return {
    name: 'gateway',
    async run() {
      const s = state();
      if (s?.status === 'unhealthy') return s;
      // Lag is measured from the first probe round on: start-up (opening the stores, starting
      // the listeners) holds the loop by design and says nothing about how requests are served.
      const p99 = measuring ? lag.percentile(99) / 1e6 : 0;
      if (measuring) lag.reset();
      else lag.enable();
      measuring = true;
      const rssMb = process.memoryUsage.rss() / 2 ** 20;
      if (p99 > 500) return { status: 'degraded', message: `event-loop lag p99 ${p99.toFixed(0)} ms` };
      return s ?? { message: '', status: rssMb > 0 ? 'healthy' : 'unhealthy' };
    },
  };
}
