import type { Command } from 'commander';
import type { ControlPlane, GatewayNodeView } from '../../control/index.ts';
import type { DrainStatus } from '../../ops/drain/controller.ts';
import { AdminClient, loadOperatorConfig } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';
import { audited, cliActor, withControlPlane } from '../format/identity-context.ts';
import { timeoutOption } from '../format/timeout-option.ts';

export interface DrainCommandOptions {
  timeoutMs: number;
  /** How often the gateway is asked (default 250 ms). */
  pollMs?: number;
  /** A progress line is printed when the numbers change, and at least this often (default 5 s). */
  repeatMs?: number;
  out?: (line: string) => void;
}

/** `nfs: 2 connections, 1 in flight; s3: 0 connections, 0 in flight`. */
export function describeLoad(s: DrainStatus, only: 'all' | 'busy' = 'all'): string {
  const parts = Object.entries(s.protocols)
    .filter(([, l]) => only === 'all' || l.inFlight > 0)
    .map(
      ([p, l]) =>
        `${p}: ${l.connections} connection${l.connections === 1 ? '' : 's'}, ${l.inFlight} in flight`,
    );
  return parts.length > 0 ? parts.join('; ') : 'no protocol listeners';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Asks the gateway to drain and waits until it is: exit 0 once no request has been in flight
 * for the gateway's quiet period, 2 when `timeoutMs` passes first (the gateway stays draining:
 * stop it anyway or `./cfs gateway undrain`).
 */
export async function drainCommand(client: AdminClient, o: DrainCommandOptions): Promise<number> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = performance.now();
  let s = await client.post<DrainStatus>('/admin/drain');
  out(
    `draining: listeners refuse new connections; waiting up to ${formatSeconds(o.timeoutMs)} for requests in flight`,
  );
  let lastLine = '';
  let lastAt = 0;
  for (;;) {
    if (s.drained) {
      out(
        `drained: no request in flight for ${formatSeconds(s.quietMs)} (${describeLoad(s)}); safe to stop the gateway`,
      );
      return 0;
    }
    if (!s.draining)
      throw new CliExit('the drain was cancelled: the gateway is serving again (undrained)', 1);
    const line = describeLoad(s);
    if (line !== lastLine || performance.now() - lastAt >= (o.repeatMs ?? 5000)) {
      out(`  ${line}`);
      lastLine = line;
      lastAt = performance.now();
    }
    if (performance.now() - started >= o.timeoutMs) {
      const busy =
        s.inFlight > 0 ? `still in flight: ${describeLoad(s, 'busy')}` : 'requests ended too recently';
      throw new CliExit(
        `drain timed out after ${formatSeconds(o.timeoutMs)}: ${busy}\nthe gateway keeps draining: stop it anyway, or resume with ./cfs gateway undrain`,
        2,
      );
    }
    await sleep(Math.min(o.pollMs ?? 250, Math.max(1, o.timeoutMs - (performance.now() - started))));
    s = await client.get<DrainStatus>('/admin/drain');
  }
}

/**
 * `--node NAME`: any node sharing the control plane. A node can only drain itself, so this
 * leaves a request in the control plane that the node carries out at its next heartbeat, then
 * follows what the node reports: exit 0 once it drains with no request in flight at its last
 * heartbeat, 2 when `timeoutMs` passes first, 1 when it stops answering.
 */
export async function drainNodeCommand(
  cp: ControlPlane,
  name: string,
  o: DrainCommandOptions,
): Promise<number> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = performance.now();
  const asked = await audited(cp, 'nodes.drain', `node:${name}`, () =>
    cp.nodes.requestDrain(name, 'drain', cliActor()),
  );
  out(
    `asked ${name} to drain through the control plane: it acts at its next heartbeat (every ${formatSeconds(asked.heartbeatIntervalMs)}); waiting up to ${formatSeconds(o.timeoutMs)}`,
  );
  let seenDraining = false;
  let lastLine = '';
  for (;;) {
    const n: GatewayNodeView | undefined = (await cp.nodes.view()).find((v) => v.name === name);
    if (!n?.up)
      throw new CliExit(`${name} is ${n ? n.health : 'no longer registered'}: it cannot finish draining`, 1);
    if (n.draining && !n.drainRequest) {
      if (!seenDraining) {
        seenDraining = true;
        out(
          `${name} is draining (${Math.round(performance.now() - started)} ms after the request): its listeners refuse new connections`,
        );
      }
      const line = `  ${n.activeConnections ?? '?'} connection${n.activeConnections === 1 ? '' : 's'}, ${n.requestsInFlight ?? '?'} in flight`;
      if (n.requestsInFlight === 0) {
        out(
          `drained: no request in flight at ${name}'s last heartbeat${line.replace(/^ +/, ' (')}); safe to stop it`,
        );
        return 0;
      }
      if (line !== lastLine) out(line);
      lastLine = line;
    } else if (!n.drainRequest && seenDraining) {
      throw new CliExit(`the drain was cancelled: ${name} is serving again (undrained)`, 1);
    }
    if (performance.now() - started >= o.timeoutMs) {
      throw new CliExit(
        `drain timed out after ${formatSeconds(o.timeoutMs)}: ${seenDraining ? `${name} still has requests in flight` : `${name} has not acted on the request`}\n${name} keeps draining: stop it anyway, or resume with ./cfs gateway undrain --node ${name}`,
        2,
      );
    }
    await sleep(o.pollMs ?? 250);
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

export function registerDrain(gateway: Command): void {
  gateway
    .command('drain')
    .description('stop accepting new connections and wait until no request is in flight')
    .option('--timeout <duration>', 'give up waiting after this long (exit 2)', '30s')
    .option(
      '--node <name>',
      'drain another node sharing the control plane (it acts at its next heartbeat); see ./cfs gateway nodes',
    )
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .action((opts: { timeout: string; node?: string; config?: string }) =>
      runCli(async () => {
        const timeoutMs = timeoutOption(opts.timeout);
        const node = opts.node;
        if (node !== undefined) {
          return withControlPlane(opts.config, (cp) => drainNodeCommand(cp, node, { timeoutMs }));
        }
        const { config } = await loadOperatorConfig(opts.config, { addressOnly: true });
        return drainCommand(AdminClient.forConfig(config), { timeoutMs });
      }),
    );
}
