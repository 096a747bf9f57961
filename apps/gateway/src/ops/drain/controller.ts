import type { DrainState, DrainStatus } from '@claudefs/api';
import type { Protocol } from '../../config/types.ts';
import type { ConnectionRegistry } from '../connections.ts';

/** The runbook's "wait for active requests to complete": this long with nothing in flight. */
export const DEFAULT_QUIET_MS = 1000;

/**
 * `GET /admin/drain`, and what `./cfs gateway drain` prints while it waits: the API's shape
 * (the console shows the same).
 */
export type { DrainState, DrainStatus };

type ProtocolLoad = NonNullable<DrainStatus['protocols'][Protocol]>;

/** The part of a ProtocolServer that drain drives. */
export interface Drainable {
  readonly protocol: Protocol;
  /** Settles once its listeners have stopped or resumed accepting. */
  setAccepting(accepting: boolean): Promise<void> | void;
}

export interface DrainControllerOptions {
  connections: ConnectionRegistry;
  /** The listeners to stop and resume, read at each drain (servers start after features). */
  servers: () => readonly Drainable[];
  /** Protocols the status always lists, with or without connections. */
  protocols: () => readonly Protocol[];
  quietMs?: number;
  now?: () => number;
  /** Drain began (true) or ended (false). */
  onChange?: (draining: boolean) => void;
  /**
   * Every listener has stopped (true) or resumed (false) accepting, after a drain or undrain;
   * `settled` waits for what this returns too.
   */
  onListenersSettled?: (draining: boolean) => Promise<void> | void;
  /** The drain reached "drained"; called again if work shows up and then stops again. */
  onDrained?: (status: DrainStatus) => void;
}

/**
 * Maintenance drain: every protocol listener stops accepting, connections already open keep
 * being served, and the gateway counts as drained once no request has been in flight for
 * `quietMs`. NFS and SMB clients keep idle connections open for hours, so drained means no
 * work, not no connection; stopping the process then loses nothing.
 */
export class DrainController {
  private since: number | undefined;
  /** When the count of requests in flight last fell to zero (construction counts as one). */
  private idleSince: number;
  private announced = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly quietMs: number;
  private readonly now: () => number;
  private settling: Promise<void> = Promise.resolve();
  private readonly onIdle = () => {
    this.idleSince = this.now();
    this.announced = false;
    this.schedule();
  };

  constructor(private readonly o: DrainControllerOptions) {
    this.quietMs = o.quietMs ?? DEFAULT_QUIET_MS;
    // Monotonic (anchored at the process's start, so `since` still reads as a time of day): a
    // step of the wall clock neither cuts the quiet period short nor stretches it.
    this.now = o.now ?? (() => Math.floor(performance.timeOrigin + performance.now()));
    this.idleSince = this.now();
    o.connections.idleListeners.add(this.onIdle);
  }

  get draining(): boolean {
    return this.since !== undefined;
  }

  /**
   * Stops every listener accepting. Idempotent: a second drain keeps the first one's start
   * and tells the listeners again, so retrying after a listener failed is the fix.
   */
  drain(): DrainStatus {
    if (this.since === undefined) {
      this.since = this.now();
      this.announced = false;
      this.o.onChange?.(true);
    }
    this.setAccepting(false);
    this.schedule();
    return this.status();
  }

  /** Every listener accepts again. Idempotent, like drain. */
  undrain(): DrainStatus {
    if (this.since !== undefined) {
      this.since = undefined;
      clearTimeout(this.timer);
      this.o.onChange?.(false);
    }
    this.setAccepting(true);
    return this.status();
  }

  /**
   * Drains or undrains, and resolves once that has reached every listener and
   * `onListenersSettled` has run, with the status then: what an answer to the operator (admin
   * API, console, diagnostics, a registry request) waits for, so it describes the gateway as it is.
   */
  async apply(action: 'drain' | 'undrain'): Promise<DrainStatus> {
    if (action === 'drain') this.drain();
    else this.undrain();
    await this.settling;
    return this.status();
  }

  status(): DrainStatus {
    const { connections } = this.o;
    const inFlight = connections.inFlight();
    const quietForMs =
      this.since === undefined || inFlight > 0 ? 0 : this.now() - Math.max(this.idleSince, this.since);
    const drained = this.since !== undefined && inFlight === 0 && quietForMs >= this.quietMs;
    const protocols: Partial<Record<Protocol, ProtocolLoad>> = {};
    const listed = new Set(this.o.protocols());
    for (const c of connections.list()) listed.add(c.protocol);
    for (const p of listed)
      protocols[p] = { connections: connections.count(p), inFlight: connections.inFlight(p) };
    return {
      state: this.since === undefined ? 'serving' : drained ? 'drained' : 'draining',
      draining: this.since !== undefined,
      drained,
      since: this.since === undefined ? null : new Date(this.since).toISOString(),
      quietForMs,
      quietMs: this.quietMs,
      connections: connections.count(),
      inFlight,
      protocols,
    };
  }

  close(): void {
    clearTimeout(this.timer);
    this.o.connections.idleListeners.delete(this.onIdle);
  }

  /**
   * Every listener is told, even when one throws: a listener left accepting during a drain is
   * worse than an error reply.
   */
  private setAccepting(accepting: boolean): void {
    const failures: string[] = [];
    const settling: Array<Promise<void> | void> = [];
    for (const server of this.o.servers()) {
      try {
        settling.push(server.setAccepting(accepting));
      } catch (e) {
        failures.push(`${server.protocol}: ${(e as Error).message}`);
      }
    }
    this.settling = Promise.allSettled(settling).then(() => this.o.onListenersSettled?.(!accepting));
    if (failures.length > 0) {
      throw new Error(`${accepting ? 'resuming' : 'stopping'} listeners failed: ${failures.join('; ')}`);
    }
  }

  /** Announces "drained" once the quiet period has passed, without anyone polling. */
  private schedule(): void {
    clearTimeout(this.timer);
    if (this.since === undefined || this.announced) return;
    const s = this.status();
    if (s.drained) {
      this.announced = true;
      this.o.onDrained?.(s);
      return;
    }
    if (s.inFlight > 0) return;
    this.timer = setTimeout(() => this.schedule(), this.quietMs - s.quietForMs + 1);
    this.timer.unref();
  }
}
