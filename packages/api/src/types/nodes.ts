import type { ConfigReload } from './ops.ts';

/**
 * A gateway node in the node registry, as every node and the console see it. A node
 * registers at start and heartbeats every `heartbeatIntervalMs`; silent for 3 of those it is
 * `down` whatever it last said.
 */
export interface NodeView {
  /** node.name in its configuration. */
  name: string;
  /** host:port of its health/admin/tRPC listener. */
  address: string;
  /** Its build: package version, `+` the git commit when run from a checkout. */
  version: string;
  /** ISO 8601. */
  startedAt: string;
  lastHeartbeatAt: string;
  heartbeatIntervalMs: number;
  /** Milliseconds since its last heartbeat when this answer was made. */
  silentMs: number;
  /**
   * What it reported (`/health` without the drain override: drain shows in `draining`), or
   * `stopped` after a clean stop, or `down` when its heartbeats stopped coming.
   */
  health: NodeHealthWord;
  /** Neither stopped nor down. */
  up: boolean;
  /** Listeners refuse new connections for maintenance (`./cfs gateway drain`). */
  draining: boolean;
  /** When the drain began (ISO 8601, the node's clock); null while serving. */
  drainingSince: string | null;
  /** Open protocol connections at its last heartbeat; null when the node does not report them. */
  activeConnections: number | null;
  /** Requests in flight at its last heartbeat; null when not reported. */
  requestsInFlight: number | null;
  /** A drain or undrain asked of it that it has not carried out yet (it does at its next heartbeat). */
  drainRequest: NodeDrainRequest | null;
  /** A configuration reload asked of it that it has not carried out yet (it does at its next heartbeat). */
  reloadRequest: NodeReloadRequest | null;
  /**
   * Its last configuration reload since it started, whoever asked (SIGHUP, `./cfs gateway
   * reload`, the console): what it applied and what waits for its restart, or why it refused
   * the file. Null when it runs the file as it started with it.
   */
  lastReload: (ConfigReload & { problems?: string[] }) | null;
  /** The node that answered this request. */
  self: boolean;
}

export interface NodeReloadRequest {
  /** ISO 8601. */
  requestedAt: string;
  /** `console:alice`. */
  requestedBy: string;
}

export type NodeHealthWord = 'starting' | 'healthy' | 'degraded' | 'unhealthy' | 'stopped' | 'down';

export interface NodeDrainRequest {
  action: 'drain' | 'undrain';
  /** ISO 8601. */
  requestedAt: string;
  /** `console:alice`. */
  requestedBy: string;
}

/** Where one node is in a rolling restart. */
export type RollingNodePhase =
  /** Its turn has not come. */
  | 'pending'
  /** Asked to drain; waiting for its heartbeat to say it drains. */
  | 'draining'
  /** Draining: waiting for its connections to reach 0, or the runbook's 30 s. */
  | 'waiting'
  /** The operator restarts it; waiting for it to register again with a new start time. */
  | 'restarting'
  /** Restarted: waiting for it to read healthy and not draining. */
  | 'returning'
  | 'done'
  /** Stopped when the walk began: not part of it. */
  | 'skipped';

/** One node's part of a rolling restart, with what the walk measured at each step (ISO times). */
export interface RollingRestartNode {
  name: string;
  address: string;
  phase: RollingNodePhase;
  /** Its start time before the walk restarted it: a new one means it restarted. */
  startedAtBefore: string;
  versionBefore: string;
  drainRequestedAt: string | null;
  /** When it began draining, by its own heartbeat (its clock). */
  drainingAt: string | null;
  /** Open connections when it was first seen draining. */
  connectionsAtDrain: number | null;
  waitEndedAt: string | null;
  /** `idle`: its connections reached 0; `timeout`: the 30 s passed first. */
  waitEnd: 'idle' | 'timeout' | null;
  /** Open connections when the walk told the operator to restart it. */
  connectionsAtRestart: number | null;
  /** When the walk first saw it stopped or down during its restart, and which. */
  stopSeenAt: string | null;
  stopSeen: 'stopped' | 'down' | null;
  /** Its new start time, once it registered again. */
  restartedAt: string | null;
  versionAfter: string | null;
  /** When it was first seen healthy and not draining after the restart. */
  healthyAt: string | null;
}

export interface RollingRestartView {
  id: number;
  outcome: 'running' | 'finished' | 'cancelled';
  startedBy: string;
  startedAt: string;
  endedBy: string | null;
  endedAt: string | null;
  /** How long a draining node's connections are waited for (the runbook's 30 s). */
  waitLimitMs: number;
  /** Index in `nodes` of the node being worked on; null once the walk ended. */
  current: number | null;
  /** Why the walk does not move on to the next node now (another node is not back), or null. */
  holding: string | null;
  nodes: RollingRestartNode[];
}

/** `rollingRestart.status`: the running walk, or else the last one to end (null: there never was one). */
export interface RollingRestartStatus {
  walk: RollingRestartView | null;
  /** Why a new walk would be refused now (a node down, unhealthy, draining…); empty when it may start. */
  blockers: string[];
}
