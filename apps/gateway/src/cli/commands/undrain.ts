import type { Command } from 'commander';
import type { DrainStatus } from '../../ops/drain/controller.ts';
import { AdminClient, loadOperatorConfig } from '../admin-client.ts';
import { runCli } from '../context.ts';
import { audited, cliActor, withControlPlane } from '../format/identity-context.ts';
import { describeLoad } from './drain.ts';

export function registerUndrain(gateway: Command): void {
  gateway
    .command('undrain')
    .description('end a drain: listeners accept new connections again')
    .option('--node <name>', 'undrain another node sharing the control plane (it acts at its next heartbeat)')
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .action((opts: { node?: string; config?: string }) =>
      runCli(async () => {
        const node = opts.node;
        if (node !== undefined) {
          return withControlPlane(opts.config, async (cp) => {
            const n = await audited(cp, 'nodes.undrain', `node:${node}`, () =>
              cp.nodes.requestDrain(node, 'undrain', cliActor()),
            );
            process.stdout.write(
              `asked ${node} to undrain through the control plane: it accepts new connections again at its next heartbeat (within ${n.heartbeatIntervalMs} ms)\n`,
            );
            return 0;
          });
        }
        const { config } = await loadOperatorConfig(opts.config, { addressOnly: true });
        const s = await AdminClient.forConfig(config).post<DrainStatus>('/admin/undrain');
        process.stdout.write(`serving: listeners accept new connections again (${describeLoad(s)})\n`);
        return 0;
      }),
    );
}
