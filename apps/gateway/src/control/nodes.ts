import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { invalid, notFound } from './errors.ts';

/** What a node reports about itself: its health (drain aside), or that it stopped cleanly. */
export type NodeStatus = 'starting' | 'healthy' | 'degraded' | 'unhealthy' | 'stopped';
const STATUSES: readonly string[] = ['starting', 'healthy', 'degraded', 'unhealthy', 'stopped'];

/** A node silent for this many of its own heartbeat intervals is shown as down. */
export const MISSED_HEARTBEATS_DOWN = 3;

/** A drain or undrain asked of a node through the control plane, waiting for the node to act. */
export interface DrainRequest {
  action: 'drain' | 'undrain';
  requestedAt: Date;
  /** `console:alice`, `cli:root`. */
  requestedBy: string;
}

const DRAIN_ACTIONS: readonly string[] = ['drain', 'undrain'];

/** A configuration reload asked of a node through the control plane, waiting for it to act. */
export interface ReloadRequest {
  requestedAt: Date;
  requestedBy: string;
}

/** A setting a reload changed or left for a restart, as `./cfs gateway reload` prints it. */
export interface ReloadedSetting {
  setting: string;
  from: string;
  to: string;
  note?: string;
}

/**
 * A node's last configuration reload since it started, whoever asked: what it applied and what
 * waits for a restart, or the problems it refused the file for (then `applied` is empty).
 */
export interface NodeReload {
  at: string;
  applied: ReloadedSetting[];
  pendingRestart: ReloadedSetting[];
  problems?: string[];
}

/** What waits in a node's row for it to carry out at its next heartbeat. */
export interface NodeRequests {
  drain: DrainRequest | null;
  reload: ReloadRequest | null;
}

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
  /** When its drain began (its clock); null while serving or not reported. */
  drainingSince?: Date | null;
  /** Open protocol connections and requests in flight at its last heartbeat; null when not reported. */
  activeConnections?: number | null;
  requestsInFlight?: number | null;
  /** A request it has not carried out yet. */
  drainRequest?: DrainRequest | null;
  /** A reload asked of it that it has not carried out yet. */
  reloadRequest?: ReloadRequest | null;
  /** Its last reload since it started; null when it runs the file as it started with it. */
  lastReload?: NodeReload | null;
}

/** What a node reports with each heartbeat, besides being alive. */
export interface HeartbeatPatch {
  status?: NodeStatus;
  draining?: boolean;
  drainingSince?: Date | null;
  activeConnections?: number | null;
  requestsInFlight?: number | null;
  heartbeatIntervalMs?: number;
  lastReload?: NodeReload | null;
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
  /**
   * Updates lastHeartbeatAt (and what the patch gives); NOT_FOUND when not registered. Returns
   * the requests waiting for this node: it carries each out and settles it.
   */
  heartbeat(name: string, patch?: HeartbeatPatch): Promise<NodeRequests>;
  /**
   * Asks a node to drain or undrain at its next heartbeat (a node can only drain itself). A
   * newer request replaces one not yet carried out. NOT_FOUND for an unknown node; INVALID for
   * one that is stopped or down (it could not act, and its restart serves again anyway).
   */
  requestDrain(name: string, action: DrainRequest['action'], requestedBy: string): Promise<GatewayNodeView>;
  /**
   * The node carried out the request made at `requestedAt`: clears it (unless a newer one
   * replaced it meanwhile) and records the state it left the node in, as a heartbeat.
   */
  settleDrainRequest(name: string, requestedAt: Date, patch: HeartbeatPatch): Promise<void>;
  /**
   * Asks a node to read its configuration file again at its next heartbeat, as SIGHUP would. A
   * newer request replaces one not carried out; NOT_FOUND and INVALID as for a drain request.
   */
  requestReload(name: string, requestedBy: string): Promise<GatewayNodeView>;
  /** The node carried out the reload asked at `requestedAt` (clears it unless replaced), with its report. */
  settleReloadRequest(name: string, requestedAt: Date, patch: HeartbeatPatch): Promise<void>;
  /** Sorted by name. */
  list(): Promise<GatewayNodeRecord[]>;
  /** Sorted by name, each with its health judged at `now`. */
  view(now?: Date): Promise<GatewayNodeView[]>;
  /** Forgets a node (one decommissioned for good); it registers again if it starts. */
  remove(name: string): Promise<void>;
}

/** Prisma's "record to update not found" (P2025), from any driver adapter. */
function isRecordMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2025';
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

function checkCount(what: string, n: number | null | undefined): number | null | undefined {
  if (n === null || n === undefined) return n;
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 31 - 1) {
    throw invalid(`${what} must be a whole number from 0 to 2^31-1`);
  }
  return n;
}

type NodeRow = Omit<GatewayNodeRecord, 'status' | 'drainRequest' | 'reloadRequest' | 'lastReload'> & {
  status: string;
  drainRequest: string | null;
  drainRequestedAt: Date | null;
  drainRequestedBy: string | null;
  reloadRequestedAt: Date | null;
  reloadRequestedBy: string | null;
  lastReload: string | null;
};

function reloadRequestOf(n: NodeRow): ReloadRequest | null {
  return n.reloadRequestedAt === null
    ? null
    : { requestedAt: n.reloadRequestedAt, requestedBy: n.reloadRequestedBy ?? '' };
}

/** The stored report, or null when missing or unreadable (a row written by a newer version). */
function lastReloadOf(n: NodeRow): NodeReload | null {
  if (n.lastReload === null) return null;
  try {
    const r = JSON.parse(n.lastReload) as NodeReload;
    return typeof r.at === 'string' && Array.isArray(r.applied) && Array.isArray(r.pendingRestart) ? r : null;
  } catch {
    return null;
  }
}

function requestOf(n: NodeRow): DrainRequest | null {
  if (n.drainRequest === null || n.drainRequestedAt === null || !DRAIN_ACTIONS.includes(n.drainRequest)) {
    return null;
  }
  return {
    action: n.drainRequest as DrainRequest['action'],
    requestedAt: n.drainRequestedAt,
    requestedBy: n.drainRequestedBy ?? '',
  };
}

const plain = (n: NodeRow): GatewayNodeRecord => ({
  name: n.name,
  address: n.address,
  version: n.version,
  startedAt: n.startedAt,
  lastHeartbeatAt: n.lastHeartbeatAt,
  heartbeatIntervalMs: n.heartbeatIntervalMs,
  draining: n.draining,
  status: n.status as NodeStatus,
  drainingSince: n.drainingSince ?? null,
  activeConnections: n.activeConnections ?? null,
  requestsInFlight: n.requestsInFlight ?? null,
  drainRequest: requestOf(n),
  reloadRequest: reloadRequestOf(n),
  lastReload: lastReloadOf(n),
});

/** The columns a heartbeat patch writes (undefined leaves a column as it is). */
function patchData(patch: HeartbeatPatch) {
  return {
    status: patch.status === undefined ? undefined : checkStatus(patch.status),
    draining: patch.draining,
    drainingSince: patch.drainingSince,
    activeConnections: checkCount('active connections', patch.activeConnections),
    requestsInFlight: checkCount('requests in flight', patch.requestsInFlight),
    heartbeatIntervalMs:
      patch.heartbeatIntervalMs === undefined ? undefined : checkInterval(patch.heartbeatIntervalMs),
    lastReload:
      patch.lastReload === undefined
        ? undefined
        : patch.lastReload === null
          ? null
          : JSON.stringify(patch.lastReload),
  };
}

/** Why a node cannot take a drain request now, or null when it can. */
export function drainRequestProblem(n: GatewayNodeView): string | null {
  if (n.health === 'stopped')
    return `node ${n.name} is stopped: it cannot drain, and it serves again only when restarted`;
  if (n.health === 'down') {
    return `node ${n.name} is down (no heartbeat for ${Math.round(n.silentMs / 1000)} s): it cannot act on a drain request; a restarted node serves, undrained`;
  }
  return null;
}

/** Why a node cannot take a reload request now, or null when it can. */
export function reloadRequestProblem(n: GatewayNodeView): string | null {
  if (n.health === 'stopped')
    return `node ${n.name} is stopped: it reads its configuration file when it starts`;
  if (n.health === 'down') {
    return `node ${n.name} is down (no heartbeat for ${Math.round(n.silentMs / 1000)} s): it cannot act on a reload request; a restarted node reads its file anyway`;
  }
  return null;
}

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
    drainingSince: v.drainingSince?.toISOString() ?? null,
    activeConnections: v.activeConnections ?? null,
    requestsInFlight: v.requestsInFlight ?? null,
    drainRequest: v.drainRequest
      ? {
          action: v.drainRequest.action,
          requestedAt: v.drainRequest.requestedAt.toISOString(),
          requestedBy: v.drainRequest.requestedBy,
        }
      : null,
    reloadRequest: v.reloadRequest
      ? { requestedAt: v.reloadRequest.requestedAt.toISOString(), requestedBy: v.reloadRequest.requestedBy }
      : null,
    lastReload: v.lastReload ?? null,
  };
}

export function createNodes(prisma: PrismaClient): Nodes {
  const list = async () => (await prisma.gatewayNode.findMany({ orderBy: { name: 'asc' } })).map(plain);
  /** Writes a request into a node's row, for a node that can act on it (`problemOf` says why not). */
  const leaveRequest = async (
    name: string,
    problemOf: (n: GatewayNodeView) => string | null,
    request: Prisma.GatewayNodeUpdateInput,
  ): Promise<GatewayNodeView> => {
    const row = await prisma.gatewayNode.findUnique({ where: { name } });
    if (!row) throw notFound(`gateway node ${name}`);
    const problem = problemOf(viewNode(plain(row), new Date()));
    if (problem) throw invalid(problem);
    const n = await prisma.gatewayNode.update({ where: { name }, data: request });
    return viewNode(plain(n), new Date());
  };
  /**
   * The node carried out the request `made` names: clears it (`cleared`) and records the state it
   * left the node in, as a heartbeat. A newer request replaced it: only the state is recorded,
   * and that one waits for the next beat.
   */
  const settle = async (
    name: string,
    made: Prisma.GatewayNodeWhereInput,
    patch: HeartbeatPatch,
    cleared: Prisma.GatewayNodeUpdateManyMutationInput,
  ): Promise<void> => {
    const data = { lastHeartbeatAt: new Date(), ...patchData(patch) };
    const { count } = await prisma.gatewayNode.updateMany({
      where: { name, ...made },
      data: { ...data, ...cleared },
    });
    if (count === 0) await prisma.gatewayNode.updateMany({ where: { name }, data });
  };
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
        drainingSince: null,
        activeConnections: null,
        requestsInFlight: null,
        // A request made while it was away is void: a restarted node serves, undrained.
        drainRequest: null,
        drainRequestedAt: null,
        drainRequestedBy: null,
        // A start reads the file: a reload asked before it, and the last one's report, are over.
        reloadRequestedAt: null,
        reloadRequestedBy: null,
        lastReload: null,
      };
      const n = await prisma.gatewayNode.upsert({
        where: { name },
        create: { name, ...fields },
        update: fields,
      });
      return plain(n);
    },
    async heartbeat(name, patch = {}) {
      const data = { lastHeartbeatAt: new Date(), ...patchData(patch) };
      try {
        const n = await prisma.gatewayNode.update({ where: { name }, data });
        return { drain: requestOf(n), reload: reloadRequestOf(n) };
      } catch (e) {
        if (isRecordMissing(e)) throw notFound(`gateway node ${name}`);
        throw e;
      }
    },
    async requestDrain(name, action, requestedBy) {
      if (!DRAIN_ACTIONS.includes(action))
        throw invalid(`a drain request is one of ${DRAIN_ACTIONS.join(', ')}`);
      return leaveRequest(name, drainRequestProblem, {
        drainRequest: action,
        drainRequestedAt: new Date(),
        drainRequestedBy: requestedBy,
      });
    },
    settleDrainRequest: (name, requestedAt, patch) =>
      settle(name, { drainRequestedAt: requestedAt }, patch, {
        drainRequest: null,
        drainRequestedAt: null,
        drainRequestedBy: null,
      }),
    requestReload: (name, requestedBy) =>
      leaveRequest(name, reloadRequestProblem, {
        reloadRequestedAt: new Date(),
        reloadRequestedBy: requestedBy,
      }),
    settleReloadRequest: (name, requestedAt, patch) =>
      settle(name, { reloadRequestedAt: requestedAt }, patch, {
        reloadRequestedAt: null,
        reloadRequestedBy: null,
      }),
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
