'use client';
import type { NodeView } from '@claudefs/api';
import { Banner, Card, PanelState, Stat } from '@claudefs/ui';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { QueryPanel } from '../../components/query-panel.tsx';
import { silentNow, span } from '../../lib/cluster.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { NodesTable, useNodeRequests } from './nodes-table.tsx';
import { RollingRestart, type RunbookCommands } from './rolling-restart.tsx';

/** A clock that ticks every second, so ages and waits count up between polls. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

function Summary({ nodes }: { nodes: NodeView[] }) {
  const up = nodes.filter((n) => n.up);
  const draining = nodes.filter((n) => n.draining);
  const connections = up.reduce((sum, n) => sum + (n.activeConnections ?? 0), 0);
  const running = nodes.filter((n) => n.health !== 'stopped');
  return (
    <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4" aria-label="Cluster summary">
      <Stat
        label="Nodes up"
        value={`${up.length} / ${running.length}`}
        sub={
          nodes.length > running.length ? `${nodes.length - running.length} stopped` : 'every registered node'
        }
        tone={up.length < running.length ? 'critical' : 'good'}
      />
      <Stat
        label="Healthy"
        value={up.filter((n) => n.health === 'healthy').length}
        tone={up.some((n) => n.health !== 'healthy') ? 'warning' : 'neutral'}
      />
      <Stat label="Draining" value={draining.length} tone={draining.length > 0 ? 'warning' : 'neutral'} />
      <Stat label="Open connections" value={connections} sub="as of each node's last heartbeat" />
    </dl>
  );
}

/** The node registry, live, with drain requests and the rolling-restart walk. */
export function Cluster({ runbook }: { runbook: RunbookCommands }) {
  const trpc = useTRPC();
  const now = useNow();
  const requests = useNodeRequests();
  const walk = useQuery({
    ...trpc.rollingRestart.status.queryOptions(),
    refetchInterval: (q) => (q.state.data?.walk?.outcome === 'running' ? 1_000 : 2_000),
  });
  const busy = walk.data?.walk?.outcome === 'running';
  const nodes = useQuery({
    ...trpc.nodes.list.queryOptions(),
    refetchInterval: (q) =>
      busy ||
      q.state.data?.some((n) => n.draining || n.drainRequest || n.reloadRequest || n.health === 'starting')
        ? 1_000
        : 3_000,
  });
  return (
    <div className="flex flex-col gap-4">
      <QueryPanel
        query={nodes}
        isEmpty={(ns) => ns.length === 0}
        empty="No gateway node has registered with this control plane."
        wrap={(node) => <Card title="Nodes">{node}</Card>}
      >
        {(list) => {
          const down = list.filter((n) => n.health === 'down' || n.health === 'unhealthy');
          return (
            <>
              {down.length > 0 ? (
                <Banner
                  tone="critical"
                  role="alert"
                  title={`${down.length} node${down.length === 1 ? '' : 's'} not serving`}
                >
                  <span data-testid="nodes-down">
                    {down
                      .map((n) =>
                        n.health === 'down'
                          ? `${n.name} is down (no heartbeat for ${span(silentNow(n, nodes.dataUpdatedAt, now))})`
                          : `${n.name} is unhealthy`,
                      )
                      .join('; ')}
                    .{' '}
                  </span>
                  <Link href="/diagnostics" className="font-medium underline">
                    Diagnose
                  </Link>
                </Banner>
              ) : null}
              <Card>
                <Summary nodes={list} />
              </Card>
              <Card
                title="Nodes"
                action={
                  <span className="text-xs text-slate-500 dark:text-slate-400">
                    live · a node silent for 3 heartbeats reads down
                  </span>
                }
              >
                <NodesTable nodes={list} answeredAt={nodes.dataUpdatedAt} now={now} onAsk={requests.ask} />
              </Card>
            </>
          );
        }}
      </QueryPanel>
      {walk.data ? (
        <RollingRestart
          status={walk.data}
          nodes={nodes.data ?? []}
          now={now}
          runbook={runbook}
          onUndrain={(n) => requests.ask(n, 'undrain')}
        />
      ) : (
        <QueryPanel query={walk} wrap={(node) => <Card title="Rolling restart">{node}</Card>}>
          {() => <PanelState state="loading" />}
        </QueryPanel>
      )}
      {requests.dialogs}
    </div>
  );
}
