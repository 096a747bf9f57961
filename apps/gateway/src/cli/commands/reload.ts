import type { Command } from 'commander';
import type { SettingChange } from '../../config/reload-plan.ts';
import type { ReloadReport } from '../../daemon/config-reload.ts';
import { AdminApiError, AdminClient, loadOperatorConfig } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';

function lines(title: string, changes: readonly SettingChange[]): string[] {
  if (changes.length === 0) return [];
  return [
    title,
    ...changes.map((c) => `  ${c.key}: ${c.from} -> ${c.to}${c.note ? `\n    (${c.note})` : ''}`),
  ];
}

/** What the terminal shows for a reload the gateway carried out. */
export function reloadText(file: string, r: Extract<ReloadReport, { ok: true }>): string {
  const out = [`configuration reloaded from ${file}`];
  if (r.applied.length === 0 && r.pendingRestart.length === 0) out.push('no setting changed');
  out.push(...lines('applied now:', r.applied));
  out.push(...lines('waiting for a restart (the running values stay until then):', r.pendingRestart));
  return `${out.join('\n')}\n`;
}

export function registerReload(gateway: Command): void {
  gateway
    .command('reload')
    .description(
      'read the configuration file again in the running gateway (as SIGHUP does) and say what changed: exports, shares, limits, caches and log level apply at once; listeners, stores and durability at the next restart',
    )
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .action((opts: { config?: string }) =>
      runCli(async () => {
        // Checked here first, as validate-config does: a file with errors never reaches the gateway.
        const { config } = await loadOperatorConfig(opts.config).catch((e: unknown) => {
          if (!(e instanceof CliExit)) throw e;
          throw new CliExit(
            `${e.message}\nnothing reloaded: the gateway keeps its running configuration`,
            e.exitCode,
          );
        });
        try {
          const r =
            await AdminClient.forConfig(config).post<Extract<ReloadReport, { ok: true }>>(
              '/admin/config/reload',
            );
          process.stdout.write(reloadText(config.configFile, r));
          return 0;
        } catch (e) {
          const body = e instanceof AdminApiError ? (e.body as Partial<ReloadReport>) : undefined;
          if (e instanceof AdminApiError && e.status === 422 && body && 'problems' in body && body.problems) {
            throw new CliExit(
              `reload refused; the gateway keeps its running configuration:\n${body.problems.map((p) => `  ${p}`).join('\n')}`,
              2,
            );
          }
          throw e;
        }
      }),
    );
}
