'use client';
import type { NodeView, RollingRestartNode, RollingRestartStatus, RollingRestartView } from '@claudefs/api';
import {
  Banner,
  Button,
  Card,
  CommandLine,
  ConfirmDialog,
  MeasuredDetails,
  StatusBadge,
  UsageBar,
  WizardStep,
} from '@claudefs/ui';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { CodeBlock } from '../../components/markdown.tsx';
import { count, PHASE_WORD, span, stepVerdict, walkMeasured, walkProgress } from '../../lib/cluster.ts';
import { messageOf } from '../../lib/errors.ts';
import { dateTime } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

export interface RunbookCommands {
  /** The runbook's restart line (Emergency Procedures: "sudo systemctl restart claudefs-gateway"). */
  restart: string;
  /** The Rolling Restart section's code block. */
  rollingRestart: string;
}

const RUNBOOK_LINK = '/runbook#rolling-restart';
/** A walk that ended this recently shows its steps open. */
const RECENT_MS = 15 * 60_000;

/** The instruction for the node the walk is on, with what it sees of the node right now. */
function CurrentStep({
  step,
  live,
  walk,
  now,
  restart,
}: {
  step: RollingRestartNode;
  live: NodeView | undefined;
  walk: RollingRestartView;
  now: number;
  restart: string;
}) {
  const toast = useToast();
  const state = live
    ? `${live.health}${live.draining ? ', draining' : ''}${live.activeConnections !== null && live.up ? `, ${count(live.activeConnections, 'connection')} open` : ''}`
    : 'not in the node registry';
  if (step.phase === 'draining') {
    return (
      <p className="mt-2 text-sm" data-testid="walk-instruction">
        Asked {step.name} to drain {span(now - Date.parse(step.drainRequestedAt ?? ''))} ago. It acts at its
        next heartbeat (every {span(live?.heartbeatIntervalMs ?? null)}): its listeners stop accepting new
        connections while open ones are served. Now: {state}.
      </p>
    );
  }
  if (step.phase === 'waiting') {
    const elapsed = now - Date.parse(step.drainingAt ?? '');
    const connections = live?.activeConnections ?? null;
    return (
      <div className="mt-2 flex flex-col gap-2">
        <p className="text-sm" data-testid="walk-instruction">
          {step.name} drains. Waiting until its connections reach 0, or {span(walk.waitLimitMs)} pass (the
          runbook's “Wait for active requests to complete (30s)”).
        </p>
        <div className="flex items-end gap-6">
          <p>
            <span className="text-3xl font-semibold tabular-nums" data-testid="walk-connections">
              {connections ?? '—'}
            </span>{' '}
            <span className="text-sm text-slate-600 dark:text-slate-300">
              open connection{connections === 1 ? '' : 's'}
              {live?.requestsInFlight ? `, ${live.requestsInFlight} in flight` : ''}
            </span>
          </p>
          <div className="flex-1">
            <p className="mb-1 text-xs text-slate-500 dark:text-slate-400">
              {span(Math.min(elapsed, walk.waitLimitMs))} of {span(walk.waitLimitMs)}
            </p>
            <UsageBar
              label={`waited ${span(elapsed)} of ${span(walk.waitLimitMs)}`}
              used={Math.min(elapsed, walk.waitLimitMs)}
              soft={null}
              hard={walk.waitLimitMs}
            />
          </div>
        </div>
      </div>
    );
  }
  if (step.phase === 'restarting') {
    return (
      <div className="mt-2 flex flex-col gap-2" data-testid="walk-restart">
        <Banner tone="warning" role="status" title={`Restart ${step.name} now`}>
          On {step.name} ({step.address}), run the runbook's restart. The console cannot restart another
          machine's process: it watches {step.name}'s heartbeats stop and start again.
          {live?.self
            ? ' This is the gateway the console talks to: the console loses its connection while it restarts and picks the walk up when it answers again.'
            : ''}
        </Banner>
        <CommandLine
          command={restart}
          onCopied={(ok) => toast(ok ? 'info' : 'error', ok ? 'Copied to the clipboard.' : 'Could not copy.')}
        />
        <p className="text-sm" data-testid="walk-instruction">
          Waiting for {step.name} to register again with a new start time. Now: {state}
          {live && !live.up ? ` (silent for ${span(live.silentMs)})` : ''}.
        </p>
      </div>
    );
  }
  if (step.phase === 'returning') {
    return (
      <p className="mt-2 text-sm" data-testid="walk-instruction">
        {step.name} registered again at {dateTime(step.restartedAt)}. Waiting until it reads healthy and not
        draining (the runbook's “Verify health before continuing”). Now: {state}.
      </p>
    );
  }
  return null;
}

function NodeStep({
  walk,
  index,
  live,
  now,
  restart,
}: {
  walk: RollingRestartView;
  index: number;
  live: NodeView | undefined;
  now: number;
  restart: string;
}) {
  const step = walk.nodes[index] as RollingRestartNode;
  const current = walk.outcome === 'running' && index === walk.current;
  const verdict = stepVerdict(walk, index);
  const ended = walk.outcome !== 'running';
  const word =
    ended && index === walk.current && step.phase !== 'done'
      ? 'cancelled here'
      : ended && step.phase === 'pending'
        ? 'not reached'
        : PHASE_WORD[step.phase];
  const meta =
    step.phase === 'done'
      ? `restarted and healthy again ${span(Date.parse(step.healthyAt ?? '') - Date.parse(step.drainRequestedAt ?? ''))} after the drain request`
      : step.phase !== 'pending'
        ? step.address
        : ended
          ? 'the walk ended before its turn'
          : 'drained once every node before it is back';
  return (
    <WizardStep
      index={index}
      title={step.name}
      meta={meta}
      verdict={verdict}
      current={current}
      badge={
        <StatusBadge
          status={word}
          variant={verdict === 'pass' ? 'healthy' : verdict === 'skipped' ? 'unknown' : 'degraded'}
        />
      }
      data={{ node: step.name, phase: step.phase }}
    >
      {current ? <CurrentStep step={step} live={live} walk={walk} now={now} restart={restart} /> : null}
      <MeasuredDetails measured={walkMeasured(step, walk.waitLimitMs)} />
    </WizardStep>
  );
}

function WalkSteps({
  walk,
  nodes,
  now,
  restart,
}: {
  walk: RollingRestartView;
  nodes: NodeView[];
  now: number;
  restart: string;
}) {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return (
    <ol className="flex flex-col gap-3" aria-label="Rolling restart steps">
      {walk.nodes.map((s, i) => (
        <NodeStep key={s.name} walk={walk} index={i} live={byName.get(s.name)} now={now} restart={restart} />
      ))}
    </ol>
  );
}

function Outcome({ walk }: { walk: RollingRestartView }) {
  const { done, total } = walkProgress(walk);
  if (walk.outcome === 'finished') {
    return (
      <Banner tone="success" role="status" title="Rolling restart finished" className="mb-3">
        <span data-testid="walk-outcome" data-outcome="finished">
          {done} of {total} nodes restarted, each healthy and not draining again. Started by {walk.startedBy}{' '}
          at {dateTime(walk.startedAt)}, finished at {dateTime(walk.endedAt)} (
          {span(Date.parse(walk.endedAt ?? '') - Date.parse(walk.startedAt))}).
        </span>
      </Banner>
    );
  }
  const at = walk.current === null ? null : walk.nodes[walk.current];
  return (
    <Banner tone="warning" role="status" title="Rolling restart cancelled" className="mb-3">
      <span data-testid="walk-outcome" data-outcome="cancelled">
        Cancelled by {walk.endedBy} at {dateTime(walk.endedAt)} after {done} of {total} nodes
        {at ? `, while on ${at.name} (${PHASE_WORD[at.phase]}); it was asked to undrain` : ''}.
      </span>
    </Banner>
  );
}

/**
 * The runbook's rolling restart as a guided walk. Its state lives in the control plane: a
 * reload, another operator or a console on another node see the same walk, and reading its
 * status (this panel polls it) moves it on.
 */
export function RollingRestart({
  status,
  nodes,
  now,
  runbook,
  onUndrain,
}: {
  status: RollingRestartStatus;
  nodes: NodeView[];
  now: number;
  runbook: RunbookCommands;
  /** Asks (with its confirmation) to undrain a node that blocks the walk by draining. */
  onUndrain: (node: NodeView) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [confirm, setConfirm] = useState<'start' | 'cancel' | null>(null);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.rollingRestart.status.queryKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.nodes.list.queryKey() });
  };
  const start = useMutation(
    trpc.rollingRestart.start.mutationOptions({
      onSuccess: (w) => {
        refresh();
        toast(
          'success',
          `Rolling restart #${w.id} started: ${w.nodes[w.current ?? 0]?.name ?? 'the first node'} drains first.`,
        );
      },
      onError: (e) => toast('error', `The rolling restart did not start: ${messageOf(e)}`),
      onSettled: () => setConfirm(null),
    }),
  );
  const cancel = useMutation(
    trpc.rollingRestart.cancel.mutationOptions({
      onSuccess: () => {
        refresh();
        toast('success', 'Rolling restart cancelled.');
      },
      onError: (e) => toast('error', `Cancel failed: ${messageOf(e)}`),
      onSettled: () => setConfirm(null),
    }),
  );
  const walk = status.walk;
  const running = walk?.outcome === 'running';
  const order = [...nodes.filter((n) => n.health !== 'stopped' && !n.self), ...nodes.filter((n) => n.self)];
  const current = running && walk.current !== null ? walk.nodes[walk.current] : undefined;
  // Drained nodes block a walk; when the drain is all that does, it is the operator's own.
  const drained = nodes.filter((n) => n.draining && n.health !== 'stopped');
  const onlyDrained =
    drained.length > 0 && nodes.every((n) => n.health === 'stopped' || n.health === 'healthy');
  const progress = walk ? walkProgress(walk) : null;
  return (
    <Card
      title="Rolling restart"
      action={
        running && progress ? (
          <span className="text-xs text-slate-500 dark:text-slate-400" data-testid="walk-progress">
            #{walk.id} · {progress.done}/{progress.total} nodes done
          </span>
        ) : null
      }
    >
      <div
        className="flex flex-col gap-3"
        data-testid="rolling-restart"
        data-walk={walk?.id ?? ''}
        data-outcome={walk?.outcome ?? 'none'}
      >
        <p className="text-sm text-slate-600 dark:text-slate-300">
          The runbook's{' '}
          <Link href={RUNBOOK_LINK} className="text-sky-700 hover:underline dark:text-sky-400">
            Rolling Restart
          </Link>
          , one node at a time: drain it, wait until its connections reach 0 (at most {span(30_000)}), restart
          it yourself, and go on once it is back healthy and not draining. Only one node is ever out of
          service.
        </p>

        {running ? (
          <>
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-sm">
                Started by <span className="font-medium">{walk.startedBy}</span> at {dateTime(walk.startedAt)}
                {current ? (
                  <>
                    {' '}
                    · now on <span className="font-medium">{current.name}</span>
                  </>
                ) : null}
              </p>
              <Button
                variant="danger"
                size="sm"
                disabled={denied !== null || cancel.isPending}
                title={denied ?? undefined}
                onClick={() => setConfirm('cancel')}
              >
                Cancel rolling restart
              </Button>
            </div>
            {walk.holding ? (
              <Banner tone="warning" role="status" title="Holding" className="text-sm">
                <span data-testid="walk-holding">{walk.holding}.</span>{' '}
                <Link href="/diagnostics" className="underline">
                  Find out why with the diagnostics
                </Link>
                .
              </Banner>
            ) : null}
            <WalkSteps walk={walk} nodes={nodes} now={now} restart={runbook.restart} />
          </>
        ) : (
          <>
            {status.blockers.length > 0 ? (
              <Banner
                tone={onlyDrained ? 'warning' : 'critical'}
                role="alert"
                title="A rolling restart cannot start now"
              >
                <div data-testid="walk-blockers">
                  <ul className="list-disc pl-5">
                    {status.blockers.map((b) => (
                      <li key={b}>{b}</li>
                    ))}
                  </ul>
                  <p className="mt-1">
                    The walk takes one node out of service at a time, so every other node must carry its
                    clients: each running node has to read healthy and not draining before it starts.{' '}
                    {onlyDrained ? (
                      'A node drained on purpose serves again once undrained.'
                    ) : (
                      <>
                        <Link href="/diagnostics" className="font-medium underline">
                          Find out why with the diagnostics
                        </Link>
                        .
                      </>
                    )}
                  </p>
                  {drained.length > 0 ? (
                    <div className="mt-2 flex flex-wrap gap-2">
                      {drained.map((n) => (
                        <Button
                          key={n.name}
                          size="sm"
                          variant="secondary"
                          disabled={denied !== null || !n.up}
                          title={denied ?? (n.up ? undefined : `${n.name} is ${n.health}`)}
                          onClick={() => onUndrain(n)}
                        >
                          Undrain {n.name}
                        </Button>
                      ))}
                    </div>
                  ) : null}
                </div>
              </Banner>
            ) : (
              <p className="text-sm" data-testid="walk-order">
                Order: {order.map((n) => n.name).join(' → ')}
                {order.some((n) => n.self) ? ' (this console’s gateway last)' : ''}.
              </p>
            )}
            <div className="flex items-center gap-3">
              <Button
                variant="primary"
                disabled={denied !== null || status.blockers.length > 0 || start.isPending}
                title={denied ?? (status.blockers.length > 0 ? 'a node is not serving' : undefined)}
                onClick={() => setConfirm('start')}
              >
                Start rolling restart
              </Button>
              {denied ? (
                <span className="text-xs text-slate-500 dark:text-slate-400" data-testid="walk-denied">
                  The rolling restart {denied}.
                </span>
              ) : null}
            </div>
          </>
        )}

        {walk && !running ? (
          <section
            aria-label="Last rolling restart"
            className="mt-2 border-t border-slate-100 pt-3 dark:border-slate-800"
          >
            <h3 className="mb-2 text-sm font-semibold">Last rolling restart (#{walk.id})</h3>
            <Outcome walk={walk} />
            <details open={now - Date.parse(walk.endedAt ?? walk.startedAt) < RECENT_MS}>
              <summary className="mb-2 cursor-pointer text-xs font-medium text-slate-500 dark:text-slate-400">
                What it measured, node by node
              </summary>
              <WalkSteps walk={walk} nodes={nodes} now={now} restart={runbook.restart} />
            </details>
          </section>
        ) : null}

        {runbook.rollingRestart ? (
          <details className="text-sm">
            <summary className="cursor-pointer text-xs font-medium text-slate-500 dark:text-slate-400">
              The runbook's commands
            </summary>
            <div className="mt-2">
              <CodeBlock code={runbook.rollingRestart} />
            </div>
          </details>
        ) : null}
      </div>
      <ConfirmDialog
        open={confirm === 'start'}
        title="Start a rolling restart?"
        confirmLabel="Start"
        busy={start.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => start.mutate()}
      >
        {order[0]?.name ?? 'The first node'} is drained first; you restart each node when the walk says so.
        Order: {order.map((n) => n.name).join(' → ')}.
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'cancel'}
        title="Cancel the rolling restart?"
        confirmLabel="Cancel the walk"
        tone="danger"
        busy={cancel.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => cancel.mutate()}
      >
        {current ? `${current.name} is asked to undrain. ` : ''}Nodes already restarted stay as they are.
      </ConfirmDialog>
    </Card>
  );
}
