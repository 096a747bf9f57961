import type { Command } from 'commander';
import { LOG_LEVELS } from '../../config/defaults.ts';
import { AdminClient, loadOperatorConfig } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';

export function registerLogLevel(gateway: Command): void {
  gateway
    .command('log-level')
    .description(
      "change the running gateway's log level at once (until the next reload or SIGHUP sets the file's again)",
    )
    .argument('<level>', LOG_LEVELS.join(' | '))
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .action((level: string, opts: { config?: string }) =>
      runCli(async () => {
        if (!(LOG_LEVELS as readonly string[]).includes(level)) {
          throw new CliExit(`unknown log level '${level}': choose ${LOG_LEVELS.join(', ')}`, 2);
        }
        const { config } = await loadOperatorConfig(opts.config, { addressOnly: true });
        const r = await AdminClient.forConfig(config).post<{ previous: string; level: string }>(
          '/admin/log-level',
          {
            level,
          },
        );
        process.stdout.write(`log level ${r.previous} -> ${r.level}\n`);
        return 0;
      }),
    );
}
