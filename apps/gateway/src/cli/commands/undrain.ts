import type { Command } from 'commander';
import type { DrainStatus } from '../../ops/drain/controller.ts';
import { AdminClient, loadOperatorConfig } from '../admin-client.ts';
import { runCli } from '../context.ts';
import { describeLoad } from './drain.ts';

export function registerUndrain(gateway: Command): void {
  gateway
    .command('undrain')
    .description('end a drain: listeners accept new connections again')
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .action((opts: { config?: string }) =>
      runCli(async () => {
        const { config } = await loadOperatorConfig(opts.config);
        const s = await AdminClient.forConfig(config).post<DrainStatus>('/admin/undrain');
        process.stdout.write(`serving: listeners accept new connections again (${describeLoad(s)})\n`);
        return 0;
      }),
    );
}
