import { ControlError } from './errors.ts';
import {
  type DrainRequest,
  type HeartbeatPatch,
  MISSED_HEARTBEATS_DOWN,
  type NodeStatus,
  type Nodes,
  type ReloadRequest,
} from './nodes.ts';

/**
 * How often a draining node beats when its interval is longer: the console shows its open
 * connections falling while an operator waits to restart it.
 */
export const DRAINING_HEARTBEAT_MS = 1000;

export interface NodeIdentity {
  name: string;
  address: string;
  version: string;
  heartbeatIntervalMs: number;
}

export interface NodeHeartbeatOptions {
  nodes: Nodes;
  identity: NodeIdentity;
  /** This node's state, read at every beat. */
  state(): NodeBeatState;
  /**
   * Carries out a drain request another node wrote for this one (the console's `nodes.drain`):
   * drains or undrains this node. Called at most once per request; a throw is logged, and the
   * request counts as carried out (the caller asks again).
   */
  carryOut?(request: DrainRequest): Promise<void> | void;
  /**
   * Reads the configuration file again as another node asked (the console's `nodes.reload`);
   * the state read after it carries the reload's report. A throw is logged; the request counts
   * as carried out.
   */
  reload?(request: ReloadRequest): Promise<void>;
  log: { info(message: string): void; warn(message: string): void };
}

export type NodeBeatState = Omit<HeartbeatPatch, 'status' | 'heartbeatIntervalMs'> & {
  status: Exclude<NodeStatus, 'stopped'>;
  draining: boolean;
};

/**
 * Keeps this node's row in the node registry current: registers at start, heartbeats every
 * interval (DRAINING_HEARTBEAT_MS at most while draining) with its health, drain state and load,
 * and says `stopped` on a clean stop. A drain request waiting in the row is carried out at the
 * beat that finds it, so a request takes effect within one interval. A control plane outage
 * never stops the gateway: beats fail with one warning per outage, and the row is registered
 * again if someone removed it meanwhile. Beats never overlap.
 */
export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private registered = false;
  private failing = false;
  private running = false;

  constructor(private readonly o: NodeHeartbeatOptions) {}

  /** Registers (or tries to, then keeps trying) and starts beating. */
  async start(): Promise<void> {
    await this.beatOnce();
    this.running = true;
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.running) return;
    const interval = this.o.identity.heartbeatIntervalMs;
    const delay = this.o.state().draining ? Math.min(interval, DRAINING_HEARTBEAT_MS) : interval;
    this.timer = setTimeout(() => {
      void this.beatOnce().finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  /** A beat that starts after the one under way, if any: it sees everything written before this call. */
  async beatAfterCurrent(): Promise<void> {
    await this.inFlight;
    await this.beatOnce();
  }

  /**
   * This node's state changed (a drain or undrain): the registry hears of it now, and the next
   * beat comes at the interval the new state calls for (DRAINING_HEARTBEAT_MS while draining).
   */
  async stateChanged(): Promise<void> {
    await this.beatAfterCurrent();
    this.schedule();
  }

  /** One beat now, unless one is already under way (then that one). */
  beatOnce(): Promise<void> {
    this.inFlight ??= this.beat().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async beat(): Promise<void> {
    const { nodes, identity, log } = this.o;
    const state = this.o.state();
    try {
      let requests: Awaited<ReturnType<Nodes['heartbeat']>> = { drain: null, reload: null };
      if (!this.registered) {
        await this.warnIfNameTaken();
        await nodes.register({ ...identity, status: state.status });
        this.registered = true;
        await nodes.heartbeat(identity.name, state);
      } else {
        requests = await nodes.heartbeat(identity.name, {
          ...state,
          heartbeatIntervalMs: identity.heartbeatIntervalMs,
        });
      }
      const { drain, reload } = requests;
      if (drain) {
        await this.actOn(drain.action, drain, this.o.carryOut, (...a) => nodes.settleDrainRequest(...a));
      }
      if (reload)
        await this.actOn('reload', reload, this.o.reload, (...a) => nodes.settleReloadRequest(...a));
      if (this.failing) {
        this.failing = false;
        log.info(`node registry: heartbeats reach the control plane again (node ${identity.name})`);
      }
    } catch (e) {
      if (e instanceof ControlError && e.code === 'NOT_FOUND') {
        // Removed from the registry while running: register again at the next beat.
        this.registered = false;
        return;
      }
      if (!this.failing) {
        this.failing = true;
        const downAfter = MISSED_HEARTBEATS_DOWN * identity.heartbeatIntervalMs;
        log.warn(
          `node registry: heartbeat failed: ${(e as Error).message}; other nodes show ${identity.name} as down after ${downAfter} ms without one`,
        );
      }
    }
  }

  /**
   * Does what a request found in the row asks (a throw is logged, and the request counts as
   * carried out: the caller asks again), then settles it with the state it left this node in.
   */
  private async actOn<R extends ReloadRequest>(
    what: string,
    request: R,
    act: ((request: R) => Promise<void> | void) | undefined,
    settle: (name: string, requestedAt: Date, patch: HeartbeatPatch) => Promise<void>,
  ): Promise<void> {
    const { identity, log } = this.o;
    try {
      if (!act) throw new Error(`this node cannot carry out ${what} requests`);
      await act(request);
    } catch (e) {
      log.warn(`node registry: could not ${what} as ${request.requestedBy} asked: ${(e as Error).message}`);
    }
    await settle(identity.name, request.requestedAt, this.o.state());
  }

  /**
   * Two live nodes with one name (node.name defaults to the host name: cloned VMs, containers)
   * would overwrite each other's row and look like one flapping node. Said once, at registration.
   */
  private async warnIfNameTaken(): Promise<void> {
    const { nodes, identity, log } = this.o;
    const other = (await nodes.view()).find((n) => n.name === identity.name);
    if (other?.up && other.address !== identity.address) {
      log.warn(
        `node registry: node name ${identity.name} is in use by a live node at ${other.address} (last heartbeat ${other.silentMs} ms ago); give each node its own node.name`,
      );
    }
  }

  /** SIGHUP: a new heartbeat interval, recorded with the next beat. */
  reconfigure(heartbeatIntervalMs: number): void {
    if (heartbeatIntervalMs === this.o.identity.heartbeatIntervalMs) return;
    this.o.identity.heartbeatIntervalMs = heartbeatIntervalMs;
    void this.beatOnce();
    this.schedule();
  }

  /** Stops beating and records `stopped` (best effort: the control plane may be the thing that is down). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (!this.registered) return;
    try {
      await this.o.nodes.heartbeat(this.o.identity.name, { ...this.o.state(), status: 'stopped' });
    } catch (e) {
      this.o.log.warn(`node registry: could not record the stop: ${(e as Error).message}`);
    }
  }
}
