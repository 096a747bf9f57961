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
  health: 'starting' | 'healthy' | 'degraded' | 'unhealthy' | 'stopped' | 'down';
  /** Neither stopped nor down. */
  up: boolean;
  /** Listeners refuse new connections for maintenance (`./cfs gateway drain`). */
  draining: boolean;
  /** The node that answered this request. */
  self: boolean;
}
