import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlPlane } from '../../control/index.ts';
import { CliExit } from '../context.ts';
import { audited, cliActor } from '../format/identity-context.ts';
import { reloadText } from './reload.ts';

export interface ReloadNodeOptions {
  timeoutMs: number;
  pollMs?: number;
  out?: (text: string) => void;
}

/**
 * `./cfs gateway reload --node NAME`: any node sharing the control plane reads its own file
 * again. A node only reloads itself, so this leaves a request that the node carries out at its
 * next heartbeat, then prints the report the node writes back: exit 0 once applied, 2 when the
 * node refused its file or `timeoutMs` passed first, 1 when the node stops answering.
 */
export async function reloadNodeCommand(
  cp: ControlPlane,
  name: string,
  o: ReloadNodeOptions,
): Promise<number> {
  const out = o.out ?? ((text: string) => process.stdout.write(text));
  const started = performance.now();
  const asked = await audited(cp, 'nodes.reload', `node:${name}`, () =>
    cp.nodes.requestReload(name, cliActor()),
  );
  const requestedAt = asked.reloadRequest?.requestedAt;
  // The node's report is new when its time differs from the one before the request (the node's
  // clock writes it: compared by identity, not with this host's clock).
  const before = asked.lastReload?.at;
  out(
    `asked ${name} to reload its configuration through the control plane: it acts at its next heartbeat (every ${asked.heartbeatIntervalMs / 1000}s)\n`,
  );
  for (;;) {
    const n = (await cp.nodes.view()).find((v) => v.name === name);
    if (!n?.up)
      throw new CliExit(`${name} is ${n ? n.health : 'no longer registered'}: it did not reload`, 1);
    // Settled: the request is gone (or a newer one replaced it) and a new report is there.
    const r = n.lastReload;
    const settled = n.reloadRequest?.requestedAt.getTime() !== requestedAt?.getTime();
    if (settled && r && r.at !== before) {
      if (r.problems) {
        throw new CliExit(
          `${name} refused its configuration file and keeps its running configuration:\n${r.problems.map((p) => `  ${p}`).join('\n')}`,
          2,
        );
      }
      out(reloadText(`node ${name}'s file`, { ok: true, ...r }));
      return 0;
    }
    if (performance.now() - started >= o.timeoutMs) {
      throw new CliExit(
        `${name} has not reloaded within ${o.timeoutMs / 1000}s; the request waits for its next heartbeat (./cfs gateway nodes)`,
        2,
      );
    }
    await sleep(o.pollMs ?? 250);
  }
}
