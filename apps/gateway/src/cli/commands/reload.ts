import type { Command } from 'commander';
import type { SettingChange } from '../../config/reload-plan.ts';
import type { ReloadReport } from '../../daemon/config-reload.ts';
import { AdminApiError, AdminClient, loadOperatorConfig, samePath } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';
import { withControlPlane } from '../format/identity-context.ts';
import { timeoutOption } from '../format/timeout-option.ts';
import { reloadNodeCommand } from './reload-node.ts';

function lines(title: string, changes: readonly SettingChange[]): string[] {
  if (changes.length === 0) return [];
  return [
    title,
    ...changes.map((c) => `  ${c.setting}: ${c.from} -> ${c.to}${c.note ? `\n    (${c.note})` : ''}`),
  ];
}

/** What the terminal shows for a reload the gateway carried out, or would (`--dry-run`). */
export function reloadText(file: string, r: Extract<ReloadReport, { ok: true }>, dryRun = false): string {
  const out = [
    dryRun ? `dry run: nothing changed; a reload of ${file} now` : `configuration reloaded from ${file}`,
  ];
  if (r.applied.length === 0 && r.pendingRestart.length === 0)
    out.push(dryRun ? 'would change no setting' : 'no setting changed');
  if (r.overridden?.length)
    out.push(
      `not taken from ${file}: a flag given at start overrides it (restart without the flag to use the file's value):`,
      ...r.overridden.map((c) => `  ${c.setting}: the file says ${c.from}; the flag keeps ${c.to}`),
    );
  out.push(...lines(dryRun ? 'would apply at once:' : 'applied now:', r.applied));
  out.push(
    ...lines(
      dryRun
        ? 'would wait for a restart (the running values stay until then):'
        : 'waiting for a restart (the running values stay until then):',
      r.pendingRestart,
    ),
  );
  return `${out.join('\n')}\n`;
}

export function registerReload(gateway: Command): void {
  gateway
    .command('reload')
    .description(
      'read the configuration file again in the running gateway (as SIGHUP does) and say what changed: exports, shares, limits, caches and log level apply at once; listeners, stores and durability at the next restart',
    )
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .option('--dry-run', 'say what a reload would change, and change nothing')
    .option(
      '--node <name>',
      'reload another node sharing the control plane (it reads its own file at its next heartbeat); see ./cfs gateway nodes',
    )
    .option(
      '--timeout <duration>',
      'with --node: give up waiting for its report after this long (exit 2)',
      '30s',
    )
    .action((opts: { config?: string; dryRun?: boolean; node?: string; timeout: string }) =>
      runCli(async () => {
        const node = opts.node;
        if (node !== undefined) {
          if (opts.dryRun)
            throw new CliExit("--dry-run reads this host's file: it cannot preview another node's", 2);
          const timeoutMs = timeoutOption(opts.timeout);
          return withControlPlane(opts.config, (cp) => reloadNodeCommand(cp, node, { timeoutMs }));
        }
        // Checked here first, as validate-config does: a file with errors never reaches the
        // gateway, nor one that sets nothing (truncated while being written).
        const { config } = await loadOperatorConfig(opts.config, { empty: 'error' }).catch((e: unknown) => {
          if (!(e instanceof CliExit)) throw e;
          throw new CliExit(
            `${e.message}\nnothing reloaded: the gateway keeps its running configuration`,
            e.exitCode,
          );
        });
        try {
          type Done = Extract<ReloadReport, { ok: true }>;
          const client = AdminClient.forConfig(config);
          // The gateway reads the file it was started with: one checked here must be that one.
          const { file } = await client.running();
          if (!samePath(file, config.configFile)) {
            throw new CliExit(
              `the gateway runs from ${file} and a reload reads that file, not ${config.configFile}: put the new configuration there (./cfs gateway validate-config --config ${config.configFile} checks it first)\nnothing reloaded: the gateway keeps its running configuration`,
              2,
            );
          }
          const r = opts.dryRun
            ? await client.get<Done>('/admin/config/preview')
            : await client.post<Done>('/admin/config/reload');
          process.stdout.write(reloadText(config.configFile, r, opts.dryRun));
          return 0;
        } catch (e) {
          const body = e instanceof AdminApiError ? (e.body as Partial<ReloadReport>) : undefined;
          if (e instanceof AdminApiError && e.status === 422 && body && 'problems' in body && body.problems) {
            throw new CliExit(
              `${opts.dryRun ? 'a reload would be refused' : 'reload refused'}; the gateway keeps its running configuration:\n${body.problems.map((p) => `  ${p}`).join('\n')}`,
              2,
            );
          }
          throw e;
        }
      }),
    );
}
