import type { Command } from 'commander';
import { type GatewayNodeView, MISSED_HEARTBEATS_DOWN, nodeJson } from '../../control/nodes.ts';
import { runCli } from '../context.ts';
import { alignColumns } from '../format/columns.ts';
import { CONFIG_OPTION, printJson, withControlPlane } from '../format/identity-context.ts';
import { when } from '../format/identity-text.ts';

/** `4s ago`, `3m12s ago`, `2h05m ago`. */
export function ago(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s ago`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m ago`;
}

/** The node's configuration as of its last reload: `as started`, `reloaded 2026-12-01 12:01:05Z (1 waits for a restart)`. */
function configText(n: GatewayNodeView): string {
  const r = n.lastReload;
  const asked = n.reloadRequest ? ', reload requested' : '';
  if (!r) return `as started${asked}`;
  const at = when(new Date(r.at));
  if (r.problems) return `file refused ${at}${asked}`;
  const waits = r.pendingRestart.length;
  return `reloaded ${at}${waits > 0 ? ` (${waits} ${waits === 1 ? 'waits' : 'wait'} for a restart)` : ''}${asked}`;
}

export function nodesTable(nodes: readonly GatewayNodeView[]): string {
  if (nodes.length === 0) return 'no gateway node has registered with this control plane\n';
  const rows = nodes.map((n) => [
    n.name,
    n.address,
    n.version,
    when(n.startedAt),
    ago(n.silentMs),
    n.health,
    n.draining ? 'yes' : 'no',
    configText(n),
  ]);
  const header = ['NAME', 'ADDRESS', 'VERSION', 'STARTED', 'LAST HEARTBEAT', 'HEALTH', 'DRAINING', 'CONFIG'];
  return `${alignColumns([header, ...rows], []).join('\n')}\n`;
}

/**
 * `./cfs gateway nodes`: every node registered with the control plane this configuration names
 * (the cluster's, when it is on PostgreSQL), read from the database, so it answers with any
 * node, this one included, stopped.
 */
export function registerNodes(gateway: Command): void {
  gateway
    .command('nodes')
    .description(
      `list the gateway nodes sharing this control plane: health, drain state, last heartbeat (down after ${MISSED_HEARTBEATS_DOWN} missed)`,
    )
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((o: { json?: boolean; config?: string }) =>
      runCli(() =>
        withControlPlane(o.config, async (cp) => {
          const nodes = await cp.nodes.view();
          if (o.json) printJson(nodes.map(nodeJson));
          else process.stdout.write(nodesTable(nodes));
          return 0;
        }),
      ),
    );
}
