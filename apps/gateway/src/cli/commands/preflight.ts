import type { Command } from 'commander';
import { locateConfig } from '../../config/locate.ts';
import { formatProblem } from '../../config/problems.ts';
import { loadConfigDespiteTls } from '../../ops/certs/lenient-config.ts';
import { fail, formatResult, type PreflightResult, summary } from '../../ops/preflight/result.ts';
import type { PreflightOptions } from '../../ops/preflight/run.ts';
import { runCli } from '../context.ts';
import type { CommandOutput } from '../format/output.ts';

/**
 * `./cfs gateway preflight`: one PASS/WARN/FAIL line per checklist item, exit 1 when any item
 * fails (an unusable configuration is one failed item).
 */
export async function preflightCommand(
  explicitConfig: string | undefined,
  o: PreflightOptions & { json?: boolean } = {},
): Promise<CommandOutput> {
  const { json, ...opts } = o;
  let results: PreflightResult[];
  try {
    const loaded = await loadConfigDespiteTls(locateConfig(explicitConfig));
    // The checks open the control plane and the stores: loaded when they run, not with `./cfs`.
    results = loaded.config
      ? await (await import('../../ops/preflight/run.ts')).runPreflight(loaded.config, loaded.problems, opts)
      : loaded.problems
          .filter((p) => p.severity === 'error')
          .map((p) => fail('configuration', formatProblem(p)));
  } catch (e) {
    results = [fail('configuration', (e as Error).message)];
  }
  const failed = results.some((r) => r.verdict === 'FAIL');
  const stdout = json
    ? `${JSON.stringify({ ok: !failed, results }, null, 2)}\n`
    : `${[...results.map(formatResult), summary(results)].join('\n')}\n`;
  return { stdout, stderr: '', exitCode: failed ? 1 : 0 };
}

export function registerPreflight(gateway: Command): void {
  gateway
    .command('preflight')
    .description("the runbook's Day-1 checklist: ports, DNS, metadata, transport, admin token, certificates")
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .option('--json', 'print { ok, results } as JSON')
    .action((opts: { config?: string; json?: boolean }) =>
      runCli(async () => {
        const out = await preflightCommand(opts.config, { json: opts.json === true });
        process.stdout.write(out.stdout);
        return out.exitCode;
      }),
    );
}
