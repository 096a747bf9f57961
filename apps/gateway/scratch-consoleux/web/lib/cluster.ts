import type { NodeView, RollingRestartNode, RollingRestartView } from '@claudefs/api';
import type { Measured, StepVerdict } from '@claudefs/ui';

/** `0.8 s`, `12 s`, `3 min 05 s`: how long something took, as the walk reports it. */
export function span(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 0) return '0 s';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor(s / 3600) % 24} h`;
}

/** `1 connection`, `3 connections`. */
export function count(n: number | null, word: string): string {
  return `${n ?? '?'} ${word}${n === 1 ? '' : 's'}`;
}

/** `4 s ago`, `2 min 10 s ago`. */
export function sinceText(ms: number): string {
  return `${span(Math.max(0, ms))} ago`;
}

const between = (from: string | null, to: string | null) =>
  from === null || to === null ? null : Date.parse(to) - Date.parse(from);

const clock = (iso: string | null) => (iso === null ? null : new Date(iso).toLocaleTimeString());

/** The last heartbeat's age now: what the server measured plus the time since it answered. */
export function silentNow(n: NodeView, answeredAt: number, now: number): number {
  return n.silentMs + Math.max(0, now - answeredAt);
}

/** What the walk measured for one node, in the order it happened; only what is known yet. */
export function walkMeasured(step: RollingRestartNode, waitLimitMs: number): Record<string, Measured> {
  const m: Record<string, Measured> = {};
  if (step.drainRequestedAt) m['drain requested at'] = clock(step.drainRequestedAt);
  if (step.drainingAt) {
    m['draining from'] = clock(step.drainingAt);
    m['drain took effect after'] = span(between(step.drainRequestedAt, step.drainingAt));
  }
  if (step.connectionsAtDrain !== null) m['connections when it began draining'] = step.connectionsAtDrain;
  if (step.waitEnd) {
    m['waited for connections'] = span(between(step.drainingAt, step.waitEndedAt));
    m['wait ended because'] =
      step.waitEnd === 'idle'
        ? 'its connections reached 0'
        : `${span(waitLimitMs)} passed with ${count(step.connectionsAtRestart, 'connection')} open`;
  }
  if (step.stopSeen) m[`seen ${step.stopSeen} at`] = clock(step.stopSeenAt);
  if (step.phase !== 'pending' && step.phase !== 'skipped')
    m['start time before'] = clock(step.startedAtBefore);
  if (step.restartedAt) {
    m['start time after (registered again)'] = clock(step.restartedAt);
    m.version =
      step.versionAfter === step.versionBefore
        ? `${step.versionBefore} (unchanged)`
        : `${step.versionBefore} → ${step.versionAfter ?? '?'}`;
  }
  if (step.healthyAt) {
    m['healthy, not draining at'] = clock(step.healthyAt);
    m['back in service after the restart'] = span(between(step.restartedAt, step.healthyAt));
    m['out of service in all'] = span(between(step.drainingAt ?? step.drainRequestedAt, step.healthyAt));
  }
  return m;
}

/** The card's rail and badge for a node in the walk. */
export function stepVerdict(walk: RollingRestartView, index: number): StepVerdict {
  const step = walk.nodes[index];
  if (!step) return 'skipped';
  if (step.phase === 'done') return 'pass';
  if (step.phase === 'pending' || step.phase === 'skipped') return 'skipped';
  if (walk.outcome === 'cancelled') return 'warn';
  return walk.holding !== null && index === walk.current ? 'warn' : 'info';
}

/** The phase as the operator reads it on the badge. */
export const PHASE_WORD: Record<RollingRestartNode['phase'], string> = {
  pending: 'waiting its turn',
  draining: 'drain requested',
  waiting: 'draining',
  restarting: 'restart it now',
  returning: 'coming back',
  done: 'done',
  skipped: 'skipped (stopped)',
};

/** How many nodes the walk restarted, and how many it will. */
export function walkProgress(walk: RollingRestartView): { done: number; total: number } {
  const inWalk = walk.nodes.filter((n) => n.phase !== 'skipped');
  return { done: inWalk.filter((n) => n.phase === 'done').length, total: inWalk.length };
}
