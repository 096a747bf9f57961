import type { PrismaClient } from '../generated/prisma/client.ts';
import { invalid, notFound } from './errors.ts';

/** What a node reports about itself: its health (drain aside), or that it stopped cleanly. */
export type NodeStatus = 'starting' | 'healthy' | 'degraded' | 'unhealthy' | 'stopped';
const STATUSES: readonly string[] = ['starting', 'healthy', 'degraded', 'unhealthy', 'stopped'];

/** A node silent for this many of its own heartbeat intervals is shown as down. */
export const MISSED_HEARTBEATS_DOWN = 3;

export interface GatewayNodeRecord {
  name: string;
  /** host:port of its health/admin/tRPC listener. */
  address: string;
  version: string;
  startedAt: Date;
  lastHeartbeatAt: Date;
  heartbeatIntervalMs: number;
  draining: boolean;
  status: NodeStatus;
}

/** How a node looks from anywhere in the cluster: its report, unless its silence says otherwise. */
export type NodeHealth = NodeStatus | 'down';

export interface GatewayNodeView extends GatewayNodeRecord {
  health: NodeHealth;
  /** Registered, not stopped and heard from within MISSED_HEARTBEATS_DOWN intervals. */
  up: boolean;
  /** Milliseconds since its last heartbeat, by the reader's clock (clocks are assumed NTP-synced). */
  silentMs: number;
}

export interface Nodes {
  /** Called at start-up: (re)creates the row with startedAt = lastHeartbeatAt = now, not draining. */
  register(input: {
    name: string;
    address: string;
    version: string;
    heartbeatIntervalMs: number;
    status?: NodeStatus;
  }): Promise<GatewayNodeRecord>;
  /** Updates lastHeartbeatAt (and what the patch gives); NOT_FOUND when not registered. */
  heartbeat(
    name: string,
    patch?: { status?: NodeStatus; draining?: boolean; heartbeatIntervalMs?: number },
  ): Promise<void>;
  /** Sorted by name. */
  list(): Promise<GatewayNodeRecord[]>;
  /** Sorted by name, each with its health judged at `now`. */
  view(now?: Date): Promise<GatewayNodeView[]>;
  /** Forgets a node (one decommissioned for good); it registers again if it starts. */
  remove(name: string): Promise<void>;
}

function checkStatus(status: string): NodeStatus {
  if (!STATUSES.includes(status)) throw invalid(`node status must be one of ${STATUSES.join(', ')}`);
  return status as NodeStatus;
}

function checkInterval(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > 2 ** 31 - 1) {
    throw invalid('heartbeat interval must be a whole number of milliseconds from 1 to 2^31-1');
  }
  return ms;
}

const plain = (n: Omit<GatewayNodeRecord, 'status'> & { status: string }): GatewayNodeRecord => ({
  name: n.name,
  address: n.address,
  version: n.version,
  startedAt: n.startedAt,
  lastHeartbeatAt: n.lastHeartbeatAt,
  heartbeatIntervalMs: n.heartbeatIntervalMs,
  draining: n.draining,
  status: n.status as NodeStatus,
});

/** The node as the cluster sees it at `now`. */
export function viewNode(n: GatewayNodeRecord, now: Date): GatewayNodeView {
  const silentMs = Math.max(0, now.getTime() - n.lastHeartbeatAt.getTime());
  const health: NodeHealth =
    n.status === 'stopped'
      ? 'stopped'
      : silentMs > MISSED_HEARTBEATS_DOWN * n.heartbeatIntervalMs
        ? 'down'
        : n.status;
  return { ...n, health, up: health !== 'stopped' && health !== 'down', silentMs };
}

/** The view as JSON-safe values (ISO times), as `./cfs gateway nodes --json` and tRPC return it. */
export function nodeJson(v: GatewayNodeView) {
  return {
    name: v.name,
    address: v.address,
    version: v.version,
    startedAt: v.startedAt.toISOString(),
    lastHeartbeatAt: v.lastHeartbeatAt.toISOString(),
    heartbeatIntervalMs: v.heartbeatIntervalMs,
    silentMs: v.silentMs,
    health: v.health,
    up: v.up,
    draining: v.draining,
  };
}

export function createNodes(prisma: PrismaClient): Nodes {
  const list = async () => (await prisma.gatewayNode.findMany({ orderBy: { name: 'asc' } })).map(plain);
  return {
    async register({ name, address, version, heartbeatIntervalMs, status = 'starting' }) {
      const now = new Date();
      const fields = {
        address,
        version,
        heartbeatIntervalMs: checkInterval(heartbeatIntervalMs),
        status: checkStatus(status),
        startedAt: now,
        lastHeartbeatAt: now,
        draining: false,
      };
      const n = await prisma.gatewayNode.upsert({
        where: { name },
        create: { name, ...fields },
        update: fields,
      });
      return plain(n);
    },
    async heartbeat(name, patch = {}) {
      const status = patch.status === undefined ? undefined : checkStatus(patch.status);
      const interval =
        patch.heartbeatIntervalMs === undefined ? undefined : checkInterval(patch.heartbeatIntervalMs);
      const { count } = await prisma.gatewayNode.updateMany({
        where: { name },
        data: {
          lastHeartbeatAt: new Date(),
          status,
          draining: patch.draining,
          heartbeatIntervalMs: interval,
        },
      });
      if (count === 0) throw notFound(`gateway node ${name}`);
    },
    list,
    async view(now = new Date()) {
      return (await list()).map((n) => viewNode(n, now));
    },
    async remove(name) {
      const { count } = await prisma.gatewayNode.deleteMany({ where: { name } });
      if (count === 0) throw notFound(`gateway node ${name}`);
    },
  };
}
