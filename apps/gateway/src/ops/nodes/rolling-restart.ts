import type { RollingRestartNode } from '@claudefs/api';
import type { GatewayNodeView } from '../../control/nodes.ts';

/**
 * The runbook's rolling restart as a walk over the node registry (RUNBOOK.md "Rolling Restart"
 * and "Graceful Shutdown"): for each node in turn, drain it, wait until its connections reach 0
 * or 30 s pass, have the operator restart it, wait until it registers again and reads healthy,
 * then the next. Pure functions over the registry's view; the service stores the result.
 */

/** Graceful Shutdown: "Wait for active requests to complete (30s)". */
export const ROLLING_WAIT_LIMIT_MS = 30_000;

/** What is stored for a walk (RollingRestart.state), besides who started it and when. */
export interface WalkState {
  waitLimitMs: number;
  current: number | null;
  holding: string | null;
  nodes: RollingRestartNode[];
}

/** A drain request the walk needs written for a node. */
export interface WalkEffect {
  action: 'drain' | 'undrain';
  node: string;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** `gw-b is down (no heartbeat for 17 s)`, `gw-c is degraded`, `gw-a is draining`. */
function notServing(n: GatewayNodeView): string | null {
  if (n.health === 'down') return `${n.name} is down (no heartbeat for ${seconds(n.silentMs)})`;
  if (n.health !== 'healthy') return `${n.name} is ${n.health}`;
  if (n.draining) return `${n.name} is draining`;
  if (n.drainRequest) return `${n.name} has a ${n.drainRequest.action} request pending`;
  return null;
}

/**
 * Why a walk may not start now: any node that is not stopped must be healthy and serving, since
 * the walk takes one node out at a time and needs the others to carry its clients. A node
 * stopped cleanly is left out of the walk (decommissioned or already out of service).
 */
export function startBlockers(nodes: readonly GatewayNodeView[]): string[] {
  const running = nodes.filter((n) => n.health !== 'stopped');
  if (running.length === 0) return ['no gateway node is running'];
  return running.map(notServing).filter((p): p is string => p !== null);
}

/** A new walk: running nodes by name, the one answering (`self`) last, so the console keeps its gateway longest. */
export function newWalk(nodes: readonly GatewayNodeView[], self: string): WalkState {
  const order = [...nodes].sort((a, b) => Number(a.name === self) - Number(b.name === self));
  const steps = order.map(
    (n): RollingRestartNode => ({
      name: n.name,
      address: n.address,
      phase: n.health === 'stopped' ? 'skipped' : 'pending',
      startedAtBefore: n.startedAt.toISOString(),
      versionBefore: n.version,
      drainRequestedAt: null,
      drainingAt: null,
      connectionsAtDrain: null,
      waitEndedAt: null,
      waitEnd: null,
      connectionsAtRestart: null,
      stopSeenAt: null,
      stopSeen: null,
      restartedAt: null,
      versionAfter: null,
      healthyAt: null,
    }),
  );
  return { waitLimitMs: ROLLING_WAIT_LIMIT_MS, current: nextPending(steps, -1), holding: null, nodes: steps };
}

function nextPending(steps: readonly RollingRestartNode[], after: number): number | null {
  const i = steps.findIndex((s, j) => j > after && s.phase === 'pending');
  return i < 0 ? null : i;
}

/** Why the walk may not drain `step` now: it or another node is not serving. */
function holdReason(
  step: RollingRestartNode,
  live: GatewayNodeView | undefined,
  nodes: readonly GatewayNodeView[],
) {
  if (!live) return `${step.name} is no longer in the node registry`;
  const problems = [live, ...nodes.filter((n) => n.name !== step.name && n.health !== 'stopped')]
    .map(notServing)
    .filter((p): p is string => p !== null);
  if (problems.length === 0) return null;
  return `${problems.join('; ')}: the walk drains ${step.name} only once every other node serves and ${step.name} itself is healthy`;
}

/** It registered again since the walk saw it: a new start time. */
const restarted = (step: RollingRestartNode, live: GatewayNodeView | undefined) =>
  live !== undefined && live.startedAt.toISOString() !== step.startedAtBefore;

function markRestarted(step: RollingRestartNode, live: GatewayNodeView): void {
  step.restartedAt = live.startedAt.toISOString();
  step.versionAfter = live.version;
  step.phase = 'returning';
}

function noteStop(step: RollingRestartNode, live: GatewayNodeView | undefined, now: Date): void {
  if (step.stopSeen || !live || (live.health !== 'stopped' && live.health !== 'down')) return;
  step.stopSeen = live.health;
  step.stopSeenAt = now.toISOString();
}

/**
 * Moves the walk as far as the registry's view at `now` allows, and says which drain requests
 * that takes. Only ever one node out of service: the next is drained only after the current one
 * reads healthy and not draining with a new start time, and while every other node serves.
 */
export function advance(
  walk: WalkState,
  nodes: readonly GatewayNodeView[],
  now: Date,
): { walk: WalkState; effects: WalkEffect[]; finished: boolean } {
  const w = structuredClone(walk);
  const effects: WalkEffect[] = [];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  // Each pass moves one phase; a node has six, so this bounds the loop with room to spare.
  for (let guard = 0; guard < 8 * (w.nodes.length + 1) && w.current !== null; guard++) {
    const step = w.nodes[w.current];
    if (!step) break;
    const live = byName.get(step.name);
    if (step.phase === 'pending') {
      w.holding = holdReason(step, live, nodes);
      if (w.holding !== null || !live) break;
      step.phase = 'draining';
      step.drainRequestedAt = now.toISOString();
      step.startedAtBefore = live.startedAt.toISOString();
      step.versionBefore = live.version;
      effects.push({ action: 'drain', node: step.name });
      break;
    }
    if (step.phase === 'draining' || step.phase === 'waiting') {
      if (restarted(step, live) && live) {
        markRestarted(step, live);
        continue;
      }
      if (!live?.up) {
        // Stopped before the wizard said so: go on from the restart.
        noteStop(step, live, now);
        step.phase = 'restarting';
        continue;
      }
      if (step.phase === 'draining') {
        if (live.draining) {
          step.drainingAt = live.drainingSince?.toISOString() ?? now.toISOString();
          step.connectionsAtDrain = live.activeConnections ?? null;
          step.phase = 'waiting';
          continue;
        }
        // The request went missing (written by a gateway that died, or undone): ask again.
        if (!live.drainRequest) effects.push({ action: 'drain', node: step.name });
        break;
      }
      if (!live.draining) {
        // Undrained behind the walk's back: drain again before telling anyone to restart it.
        step.phase = 'draining';
        step.drainRequestedAt = now.toISOString();
        if (!live.drainRequest) effects.push({ action: 'drain', node: step.name });
        break;
      }
      const since = Date.parse(step.drainingAt ?? now.toISOString());
      const connections = live.activeConnections ?? null;
      if (connections === 0) step.waitEnd = 'idle';
      else if (now.getTime() - since >= w.waitLimitMs) step.waitEnd = 'timeout';
      else break;
      step.waitEndedAt = now.toISOString();
      step.connectionsAtRestart = connections;
      step.phase = 'restarting';
      continue;
    }
    if (step.phase === 'restarting') {
      if (restarted(step, live) && live) {
        markRestarted(step, live);
        continue;
      }
      noteStop(step, live, now);
      break;
    }
    if (step.phase === 'returning') {
      if (live && live.startedAt.toISOString() !== step.restartedAt && restarted(step, live)) {
        // Restarted once more (a second try): the newest start counts.
        markRestarted(step, live);
      }
      if (live?.health !== 'healthy' || live.draining || !live.up) break;
      step.healthyAt = now.toISOString();
      step.phase = 'done';
    }
    w.current = nextPending(w.nodes, w.current);
  }
  if (w.current === null) w.holding = null;
  return { walk: w, effects, finished: w.current === null };
}

/** The node the walk works on and would undrain if cancelled now: drained, or asked to be. */
export function cancelEffects(walk: WalkState, nodes: readonly GatewayNodeView[]): WalkEffect[] {
  const step = walk.current === null ? undefined : walk.nodes[walk.current];
  if (!step || step.phase === 'pending' || step.phase === 'done' || step.phase === 'skipped') return [];
  const live = nodes.find((n) => n.name === step.name);
  if (!live?.up || !(live.draining || live.drainRequest?.action === 'drain')) return [];
  return [{ action: 'undrain', node: step.name }];
}
