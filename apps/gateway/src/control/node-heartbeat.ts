import { ControlError } from './errors.ts';
import { MISSED_HEARTBEATS_DOWN, type NodeStatus, type Nodes } from './nodes.ts';

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
  state(): { status: Exclude<NodeStatus, 'stopped'>; draining: boolean };
  log: { info(message: string): void; warn(message: string): void };
}

/**
 * Keeps this node's row in the node registry current: registers at start, heartbeats every
 * interval with its health and drain state, and says `stopped` on a clean stop. A control
 * plane outage never stops the gateway: beats fail with one warning per outage, and the row is
 * registered again if someone removed it meanwhile. Beats never overlap.
 */
export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private registered = false;
  private failing = false;

  constructor(private readonly o: NodeHeartbeatOptions) {}

  /** Registers (or tries to, then keeps trying) and starts the interval. */
  async start(): Promise<void> {
    await this.beatOnce();
    this.timer = setInterval(() => void this.beatOnce(), this.o.identity.heartbeatIntervalMs);
    this.timer.unref();
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
      if (!this.registered) {
        await this.warnIfNameTaken();
        await nodes.register({ ...identity, status: state.status });
        this.registered = true;
        if (state.draining) await nodes.heartbeat(identity.name, state);
      } else {
        await nodes.heartbeat(identity.name, { ...state, heartbeatIntervalMs: identity.heartbeatIntervalMs });
      }
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
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = setInterval(() => void this.beatOnce(), heartbeatIntervalMs);
      this.timer.unref();
    }
    void this.beatOnce();
  }

  /** Stops beating and records `stopped` (best effort: the control plane may be the thing that is down). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (!this.registered) return;
    try {
      await this.o.nodes.heartbeat(this.o.identity.name, {
        status: 'stopped',
        draining: this.o.state().draining,
      });
    } catch (e) {
      this.o.log.warn(`node registry: could not record the stop: ${(e as Error).message}`);
    }
  }
}
