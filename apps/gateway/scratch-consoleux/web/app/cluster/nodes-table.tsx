'use client';
import type { NodeView } from '@claudefs/api';
import { Button, ConfirmDialog, cx, StatusBadge, Table, Td, Th } from '@claudefs/ui';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { silentNow, sinceText, span } from '../../lib/cluster.ts';
import { messageOf } from '../../lib/errors.ts';
import { dateTime } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

/** A down node's row is tinted, so it stands out at a glance (its word says so too). */
const ROW_TONE: Partial<Record<NodeView['health'], string>> = {
  down: 'bg-red-50 dark:bg-red-950/40',
  unhealthy: 'bg-red-50 dark:bg-red-950/40',
  stopped: 'text-slate-500 dark:text-slate-400',
};

function DrainCell({ node, onAsk, denied }: { node: NodeView; onAsk: () => void; denied: string | null }) {
  const cannot = node.up ? null : `${node.name} is ${node.health}: it cannot act on a request`;
  const why = denied ?? cannot;
  return (
    <Button
      size="sm"
      className="mt-1"
      variant={node.draining ? 'primary' : 'secondary'}
      disabled={why !== null}
      title={why ?? undefined}
      onClick={onAsk}
      aria-label={`${node.draining ? 'Undrain' : 'Drain'} ${node.name}`}
    >
      {node.draining ? 'Undrain' : 'Drain'}
    </Button>
  );
}

/** `/etc/claudefs/gateway.yaml:7:3 cache.ttl: …` as `line 7: cache.ttl: …` (the title keeps the path). */
const withoutPath = (problem: string) => problem.replace(/^\S+?:(\d+)(?::\d+)?:?\s+/, 'line $1: ');

/** `2 applied, 1 waits for a restart`. */
function reloadCounts(r: NodeView['lastReload']): string {
  if (!r) return 'nothing changed';
  const waits = r.pendingRestart.length;
  return `${r.applied.length} applied${waits > 0 ? `, ${waits} ${waits === 1 ? 'waits' : 'wait'} for a restart` : ''}`;
}

/** What the configuration column says: its last reload since start, and a request on its way. */
function ConfigState({ node, now }: { node: NodeView; now: number }) {
  const r = node.lastReload;
  const request = node.reloadRequest;
  return (
    <span className="flex flex-col gap-0.5 text-xs" data-testid="node-config">
      {r === null ? (
        <span className="text-slate-500 dark:text-slate-400">as started</span>
      ) : r.problems ? (
        <span className="text-red-700 dark:text-red-400" title={r.problems.join('\n')}>
          <span className="font-medium">file refused {new Date(r.at).toLocaleTimeString()}</span>
          <span className="line-clamp-3 break-words">{withoutPath(r.problems[0] ?? '')}</span>
        </span>
      ) : (
        <span
          title={[...r.applied, ...r.pendingRestart]
            .map((c) => `${c.setting}: ${c.from} → ${c.to}`)
            .join('\n')}
        >
          reloaded {new Date(r.at).toLocaleTimeString()}: {r.applied.length} applied
          {r.pendingRestart.length > 0 ? (
            <span className="block font-medium text-amber-700 dark:text-amber-400">
              {r.pendingRestart.length} {r.pendingRestart.length === 1 ? 'waits' : 'wait'} for a restart:{' '}
              {r.pendingRestart.map((c) => c.setting).join(', ')}
            </span>
          ) : null}
        </span>
      )}
      {request ? (
        <span className="text-sky-700 dark:text-sky-400" data-testid="reload-request">
          reload requested {sinceText(now - Date.parse(request.requestedAt))} by {request.requestedBy}
        </span>
      ) : null}
    </span>
  );
}

/** What the drain column says: its state, and a request on its way. */
function DrainState({ node, now }: { node: NodeView; now: number }) {
  const request = node.drainRequest;
  return (
    <span className="flex flex-col gap-0.5">
      <span className={cx(node.draining && 'font-medium text-amber-700 dark:text-amber-400')}>
        {node.draining
          ? `yes${node.drainingSince ? `, for ${span(now - Date.parse(node.drainingSince))}` : ''}`
          : 'no'}
      </span>
      {request ? (
        <span className="text-xs text-sky-700 dark:text-sky-400" data-testid="drain-request">
          {request.action} requested {sinceText(now - Date.parse(request.requestedAt))} by{' '}
          {request.requestedBy}
        </span>
      ) : null}
    </span>
  );
}

export type NodeAction = 'drain' | 'undrain' | 'reload';
export type AskNode = (node: NodeView, action: NodeAction) => void;

/**
 * Drain, undrain and configuration reload requests for any node, each confirmed first: `ask`
 * opens the dialog, `dialogs` renders it (once per page). The nodes table and the
 * rolling-restart blocker share it.
 */
export function useNodeRequests(): { ask: AskNode; dialogs: ReactNode } {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [asking, setAsking] = useState<{ node: NodeView; action: NodeAction } | null>(null);
  const settle = {
    onSuccess: (n: NodeView) => {
      void queryClient.invalidateQueries({ queryKey: trpc.nodes.list.queryKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.rollingRestart.status.queryKey() });
      toast(
        'success',
        n.drainRequest
          ? `${n.drainRequest.action === 'drain' ? 'Drain' : 'Undrain'} requested: ${n.name} acts at its next heartbeat (within ${span(n.heartbeatIntervalMs)}).`
          : `${n.name} ${n.draining ? 'is draining' : 'serves again'}.`,
      );
    },
    onError: (e: unknown) => toast('error', `Request failed: ${messageOf(e)}`),
    onSettled: () => setAsking(null),
  };
  const drain = useMutation(trpc.nodes.drain.mutationOptions(settle));
  const undrain = useMutation(trpc.nodes.undrain.mutationOptions(settle));
  const reload = useMutation(
    trpc.nodes.reload.mutationOptions({
      ...settle,
      onSuccess: (n: NodeView) => {
        void queryClient.invalidateQueries({ queryKey: trpc.nodes.list.queryKey() });
        if (n.reloadRequest) {
          toast(
            'success',
            `Reload requested: ${n.name} reads its configuration file at its next heartbeat (within ${span(n.heartbeatIntervalMs)}).`,
          );
        } else {
          const r = n.lastReload;
          toast(
            r?.problems ? 'error' : 'success',
            r?.problems
              ? `${n.name} refused its file: ${r.problems[0] ?? 'see its log'}`
              : `${n.name} reloaded: ${reloadCounts(r)}.`,
          );
        }
      },
    }),
  );
  const busy = drain.isPending || undrain.isPending || reload.isPending;
  const dialogs = (
    <>
      <ConfirmDialog
        open={asking?.action === 'drain'}
        title={`Drain ${asking?.node.name ?? ''}?`}
        confirmLabel="Drain"
        tone="danger"
        busy={busy}
        onCancel={() => setAsking(null)}
        onConfirm={() => asking && drain.mutate({ name: asking.node.name })}
      >
        Its NFS, S3 and SMB listeners stop accepting new connections at its next heartbeat (within{' '}
        {span(asking?.node.heartbeatIntervalMs ?? null)}); clients already connected keep being served.
        Undrain to serve again.
      </ConfirmDialog>
      <ConfirmDialog
        open={asking?.action === 'undrain'}
        title={`Undrain ${asking?.node.name ?? ''}?`}
        confirmLabel="Undrain"
        busy={busy}
        onCancel={() => setAsking(null)}
        onConfirm={() => asking && undrain.mutate({ name: asking.node.name })}
      >
        Its listeners accept new connections again at its next heartbeat (within{' '}
        {span(asking?.node.heartbeatIntervalMs ?? null)}).
      </ConfirmDialog>
      <ConfirmDialog
        open={asking?.action === 'reload'}
        title={`Reload the configuration of ${asking?.node.name ?? ''}?`}
        confirmLabel="Reload"
        busy={busy}
        onCancel={() => setAsking(null)}
        onConfirm={() => asking && reload.mutate({ name: asking.node.name })}
      >
        It reads its own configuration file again at its next heartbeat (within{' '}
        {span(asking?.node.heartbeatIntervalMs ?? null)}), as SIGHUP would: exports, shares, limits, caches,
        circuit breakers and the log level apply at once; listeners, stores and durability wait for its
        restart. A file with errors changes nothing and says why here.
      </ConfirmDialog>
    </>
  );
  return { ask: (node, action) => setAsking({ node, action }), dialogs };
}

/**
 * Every node sharing the control plane: identity, heartbeat age (counting up between polls),
 * health as word and colour, drain state, load, and Drain/Undrain for operators.
 */
export function NodesTable({
  nodes,
  answeredAt,
  now,
  onAsk,
}: {
  nodes: NodeView[];
  answeredAt: number;
  now: number;
  onAsk: AskNode;
}) {
  const denied = useRoleProblem('operator');
  return (
    <>
      <Table caption="Gateway nodes">
        <thead>
          <tr>
            <Th>Node</Th>
            <Th>Started</Th>
            <Th>Last heartbeat</Th>
            <Th>Health</Th>
            <Th>Draining</Th>
            <Th className="text-right">Connections</Th>
            <Th>Configuration</Th>
          </tr>
        </thead>
        <tbody className="tabular-nums">
          {nodes.map((n) => {
            const silent = silentNow(n, answeredAt, now);
            return (
              <tr
                key={n.name}
                data-node={n.name}
                data-health={n.health}
                data-draining={String(n.draining)}
                className={ROW_TONE[n.health]}
              >
                <Td>
                  <span className="font-medium whitespace-nowrap">{n.name}</span>
                  {n.self ? (
                    <span className="ml-1.5 rounded bg-slate-100 px-1 py-0.5 text-[0.65rem] whitespace-nowrap text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                      this console's gateway
                    </span>
                  ) : null}
                  <span className="block font-mono text-xs text-slate-500 dark:text-slate-400">
                    {n.address}
                  </span>
                  <span
                    className="block font-mono text-[0.7rem] text-slate-500 dark:text-slate-400"
                    title="version"
                  >
                    {n.version}
                  </span>
                </Td>
                <Td className="text-xs whitespace-nowrap" title={dateTime(n.startedAt)}>
                  {new Date(n.startedAt).toLocaleTimeString()}
                  <span className="block text-slate-500 dark:text-slate-400">
                    {n.up
                      ? `up ${span(now - Date.parse(n.startedAt))}`
                      : new Date(n.startedAt).toLocaleDateString()}
                  </span>
                </Td>
                <Td
                  className={cx(
                    'text-xs whitespace-nowrap',
                    n.health === 'down' && 'font-semibold text-red-700 dark:text-red-400',
                  )}
                  data-testid="heartbeat-age"
                  title={`every ${span(n.heartbeatIntervalMs)}; down after 3 missed`}
                >
                  {sinceText(silent)}
                </Td>
                <Td>
                  <StatusBadge status={n.health} />
                </Td>
                <Td className="text-sm">
                  <DrainState node={n} now={now} />
                  <DrainCell
                    node={n}
                    denied={denied}
                    onAsk={() => onAsk(n, n.draining ? 'undrain' : 'drain')}
                  />
                </Td>
                <Td className="text-right" data-testid="node-connections">
                  {n.up && n.activeConnections !== null ? (
                    <>
                      {n.activeConnections}
                      <span className="block text-xs text-slate-500 dark:text-slate-400">
                        {n.requestsInFlight ?? 0} in flight
                      </span>
                    </>
                  ) : (
                    '—'
                  )}
                </Td>
                <Td className="max-w-56">
                  <ConfigState node={n} now={now} />
                  <Button
                    size="sm"
                    variant="ghost"
                    className="mt-1 -ml-2"
                    disabled={denied !== null || !n.up}
                    title={
                      denied ?? (n.up ? undefined : `${n.name} is ${n.health}: it cannot act on a request`)
                    }
                    onClick={() => onAsk(n, 'reload')}
                    aria-label={`Reload the configuration of ${n.name}`}
                  >
                    Reload
                  </Button>
                </Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
      {denied ? (
        <p className="mt-2 text-xs text-slate-500 dark:text-slate-400" data-testid="nodes-denied">
          Drain, undrain and reload {denied}.
        </p>
      ) : null}
    </>
  );
}
