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

export type DrainAction = 'drain' | 'undrain';
export type AskDrain = (node: NodeView, action: DrainAction) => void;

/**
 * Drain and undrain requests for any node, each confirmed first: `ask` opens the dialog,
 * `dialogs` renders it (once per page). The nodes table and the rolling-restart blocker share it.
 */
export function useNodeDrain(): { ask: AskDrain; dialogs: ReactNode } {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [asking, setAsking] = useState<{ node: NodeView; action: DrainAction } | null>(null);
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
  const busy = drain.isPending || undrain.isPending;
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
  onAsk: AskDrain;
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
            <Th>
              <span className="sr-only">Actions</span>
            </Th>
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
                <Td className="text-right">
                  <DrainCell
                    node={n}
                    denied={denied}
                    onAsk={() => onAsk(n, n.draining ? 'undrain' : 'drain')}
                  />
                </Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
      {denied ? (
        <p className="mt-2 text-xs text-slate-500 dark:text-slate-400" data-testid="nodes-denied">
          Drain and undrain {denied}.
        </p>
      ) : null}
    </>
  );
}
