import type { Command } from 'commander';
import { PROTOCOLS, type Protocol } from '../../config/defaults.ts';
import { locateConfig } from '../../config/locate.ts';
import { applyOverrides, type OverrideFlags, type OverrideResult } from '../../config/overrides.ts';
import { COMMAND_LINE, formatProblem } from '../../config/problems.ts';
import type { GatewayConfig } from '../../config/types.ts';
import { loadConfigDespiteTls } from '../../ops/certs/lenient-config.ts';
import { fail, formatResult, type PreflightResult, summary } from '../../ops/preflight/result.ts';
import type { PreflightOptions } from '../../ops/preflight/run.ts';
import { runCli } from '../context.ts';
import type { CommandOutput } from '../format/output.ts';
import { startFlags } from './start.ts';

/**
 * `./cfs gateway preflight`: one PASS/WARN/FAIL line per checklist item, exit 1 when any item
 * fails (an unusable configuration is one failed item). Given the protocols and flags of a
 * `gateway start` line, it checks what that start will serve: those protocols' ports, the
 * `--bind` address, the `--tls-cert` and `--tls-key` files.
 */
export async function preflightCommand(
  explicitConfig: string | undefined,
  o: PreflightOptions & { json?: boolean; named?: readonly string[]; flags?: OverrideFlags } = {},
): Promise<CommandOutput> {
  const { json, named = [], flags = {}, ...opts } = o;
  let results: PreflightResult[];
  try {
    const loaded = await loadConfigDespiteTls(locateConfig(explicitConfig));
    const started = loaded.config ? startedAs(loaded.config, named, flags) : { problems: loaded.problems };
    // The checks open the control plane and the stores: loaded when they run, not with `./cfs`.
    results = started.config
      ? await (await import('../../ops/preflight/run.ts')).runPreflight(
          started.config,
          [...loaded.problems, ...started.problems],
          opts,
        )
      : started.problems
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

/**
 * The configuration a `gateway start` with these protocols and flags runs: the flags laid over
 * the file as the start lays them (its refusals are the configuration item's FAIL), only the
 * named protocols enabled. The TLS files are left to the certificates item.
 */
function startedAs(config: GatewayConfig, named: readonly string[], flags: OverrideFlags): OverrideResult {
  const unknown = named.filter((n) => !(PROTOCOLS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    const message = `unknown protocol ${unknown.join(', ')}: choose from ${PROTOCOLS.join(', ')}`;
    return {
      problems: [{ file: COMMAND_LINE, line: 0, col: 0, path: 'protocols', message, severity: 'error' }],
    };
  }
  const protocols = named as readonly Protocol[];
  const r = applyOverrides(config, flags, protocols, { checkTlsFiles: false });
  if (!r.config || protocols.length === 0) return r;
  for (const p of PROTOCOLS) r.config[p].enabled = protocols.includes(p);
  return r;
}

export function registerPreflight(gateway: Command): void {
  const preflight = gateway
    .command('preflight')
    .description(
      "the runbook's Day-1 checklist: ports, DNS, metadata, transport, admin token, certificates; with a start line's protocols and flags, of what that start will serve",
    )
    .argument('[protocols...]', 'nfs, s3 and/or smb, as given to gateway start')
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .option('--json', 'print { ok, results } as JSON');
  startFlags(preflight).action((names: string[], opts: OverrideFlags & { config?: string; json?: boolean }) =>
    runCli(async () => {
      const { config, json, ...flags } = opts;
      const out = await preflightCommand(config, { json: json === true, named: names, flags });
      process.stdout.write(out.stdout);
      return out.exitCode;
    }),
  );
}
