import type { NodeView, RollingRestartStatus, RollingRestartView } from '@claudefs/api';
import { TRPCError } from '@trpc/server';
import { type GatewayNodeView, nodeJson } from '../../control/nodes.ts';
import type { RollingRestartRecord } from '../../control/rolling-restarts.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { nodeHeartbeatOf } from './feature.ts';
import {
  advance,
  cancelEffects,
  newWalk,
  startBlockers,
  type WalkEffect,
  type WalkState,
} from './rolling-restart.ts';

/** A writer lost the race for the walk's version this many times in a row: give up this round. */
const MAX_RACES = 5;

function walkView(r: RollingRestartRecord): RollingRestartView {
  const state = r.state as WalkState;
  return {
    id: r.id,
    outcome: r.outcome,
    startedBy: r.startedBy,
    startedAt: r.startedAt.toISOString(),
    endedBy: r.endedBy,
    endedAt: r.endedAt?.toISOString() ?? null,
    waitLimitMs: state.waitLimitMs,
    current: state.current,
    holding: state.holding,
    nodes: state.nodes,
  };
}

/**
 * The cluster as the console drives it: the node registry, drain requests to any node, and the
 * rolling-restart walk stored in the control plane. Every gateway offers it over the one
 * control plane they share, so the console may talk to any of them.
 */
export class Cluster {
  constructor(private readonly gw: Gateway) {}

  private get self(): string {
    return this.gw.config.node.name;
  }

  private json = (n: GatewayNodeView): NodeView => ({ ...nodeJson(n), self: n.name === this.self });

  async nodes(): Promise<NodeView[]> {
    return (await this.gw.control.nodes.view()).map(this.json);
  }

  /** Writes the request; this node's own is carried out now rather than at the next beat. */
  async requestDrain(name: string, action: 'drain' | 'undrain', requestedBy: string): Promise<NodeView> {
    const view = await this.gw.control.nodes.requestDrain(name, action, requestedBy);
    if (name !== this.self) return this.json(view);
    await nodeHeartbeatOf(this.gw)?.beatAfterCurrent();
    const after = (await this.gw.control.nodes.view()).find((n) => n.name === name);
    return this.json(after ?? view);
  }

  /** As requestDrain: this node carries it out at once (a beat now), another at its next beat. */
  async requestReload(name: string, requestedBy: string): Promise<NodeView> {
    const view = await this.gw.control.nodes.requestReload(name, requestedBy);
    if (name !== this.self) return this.json(view);
    await nodeHeartbeatOf(this.gw)?.beatAfterCurrent();
    const after = (await this.gw.control.nodes.view()).find((n) => n.name === name);
    return this.json(after ?? view);
  }

  async rollingRestartStatus(): Promise<RollingRestartStatus> {
    const walk = await this.advanceWalk();
    const blockers = walk?.outcome === 'running' ? [] : startBlockers(await this.gw.control.nodes.view());
    return { walk, blockers };
  }

  async startRollingRestart(startedBy: string): Promise<RollingRestartView> {
    const nodes = await this.gw.control.nodes.view();
    const blockers = startBlockers(nodes);
    if (blockers.length > 0) {
      throw new TRPCError({
        code: 'PRECONDITION_FAILED',
        message: `a rolling restart takes one node out at a time and needs every other node serving: ${blockers.join('; ')}`,
      });
    }
    const record = await this.gw.control.rollingRestarts.create(startedBy, newWalk(nodes, this.self));
    this.gw.log.warn({ startedBy, walk: record.id }, `rolling restart #${record.id} started by ${startedBy}`);
    const walk = await this.advanceWalk();
    return walk ?? walkView(record);
  }

  async cancelRollingRestart(cancelledBy: string): Promise<RollingRestartView> {
    const { control, log } = this.gw;
    for (let race = 0; race < MAX_RACES; race++) {
      const record = await control.rollingRestarts.latest();
      if (record?.outcome !== 'running') {
        throw new TRPCError({ code: 'NOT_FOUND', message: 'no rolling restart is running' });
      }
      const state = record.state as WalkState;
      const effects = cancelEffects(state, await control.nodes.view());
      const ended = await control.rollingRestarts.update(record.id, record.version, {
        state: { ...state, holding: null },
        end: { outcome: 'cancelled', by: cancelledBy },
      });
      if (!ended) continue;
      log.warn({ cancelledBy, walk: record.id }, `rolling restart #${record.id} cancelled by ${cancelledBy}`);
      await this.carryOut(effects, `${cancelledBy} (cancelling rolling restart #${record.id})`);
      return walkView(ended);
    }
    throw new TRPCError({ code: 'CONFLICT', message: 'the rolling restart kept changing; try again' });
  }

  /**
   * Moves the running walk as far as the registry allows, stores it (over the version read, so
   * concurrent readers on several gateways move it once) and writes the drain requests it
   * takes. Returns the walk as stored, or the last one when none runs.
   */
  private async advanceWalk(): Promise<RollingRestartView | null> {
    const { control } = this.gw;
    for (let race = 0; race < MAX_RACES; race++) {
      const record = await control.rollingRestarts.latest();
      if (record?.outcome !== 'running') return record ? walkView(record) : null;
      const state = record.state as WalkState;
      const next = advance(state, await control.nodes.view(), new Date());
      const by = `${record.startedBy} (rolling restart #${record.id})`;
      if (!next.finished && JSON.stringify(next.walk) === JSON.stringify(state)) {
        await this.carryOut(next.effects, by);
        return walkView(record);
      }
      const stored = await control.rollingRestarts.update(record.id, record.version, {
        state: next.walk,
        ...(next.finished ? { end: { outcome: 'finished' as const, by: null } } : {}),
      });
      if (!stored) continue;
      await this.carryOut(next.effects, by);
      if (next.finished) await this.recordFinish(stored);
      return walkView(stored);
    }
    const record = await control.rollingRestarts.latest();
    return record ? walkView(record) : null;
  }

  /** A failed request is logged, not thrown: the next read of the walk asks again. */
  private async carryOut(effects: WalkEffect[], requestedBy: string): Promise<void> {
    for (const e of effects) {
      try {
        await this.requestDrain(e.node, e.action, requestedBy);
      } catch (err) {
        this.gw.log.warn(
          { node: e.node, err: (err as Error).message },
          `rolling restart: could not ask ${e.node} to ${e.action}: ${(err as Error).message}`,
        );
      }
    }
  }

  private async recordFinish(r: RollingRestartRecord): Promise<void> {
    const state = r.state as WalkState;
    const restarted = state.nodes.filter((n) => n.phase === 'done');
    this.gw.log.info(
      { walk: r.id, nodes: restarted.map((n) => n.name) },
      `rolling restart #${r.id} finished: ${restarted.length} node${restarted.length === 1 ? '' : 's'} restarted and healthy`,
    );
    await this.gw.control.audit
      .record({
        actor: r.startedBy,
        action: 'rolling-restart.finish',
        target: 'rolling-restart',
        outcome: 'ok',
        detail: {
          id: r.id,
          nodes: state.nodes.map((n) => ({
            name: n.name,
            phase: n.phase,
            waitEnd: n.waitEnd,
            restartedAt: n.restartedAt,
            healthyAt: n.healthyAt,
            versionBefore: n.versionBefore,
            versionAfter: n.versionAfter,
          })),
        },
      })
      .catch((err: unknown) => this.gw.log.warn({ err }, 'could not audit the rolling restart finish'));
  }
}
