import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { locateConfig } from '../../config/locate.ts';
import { COMMAND_LINE, ConfigError, formatProblem, hasErrors, type Problem } from '../../config/problems.ts';
import type { GatewayConfig } from '../../config/types.ts';
import { runningGatewayPid } from '../../daemon/pid-file.ts';
import { portOwners } from '../../ops/preflight/socket-owners.ts';

/** Where the command writes; tests pass their own to read what an operator would see. */
export interface ValidateConfigOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processOutput: ValidateConfigOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

interface ValidateConfigOptions {
  config?: string;
  portCheck: boolean;
  json?: boolean;
}

/**
 * `cfs gateway validate-config [--config F] [--no-port-check] [--json]`. Exit status 0 when
 * the file is usable (warnings allowed), 1 when it is not or cannot be read. Errors are
 * listed one per line as `FILE:LINE:COL key.path: message`, the form editors jump to.
 */
export function registerValidateConfig(gateway: Command, output: ValidateConfigOutput = processOutput): void {
  gateway
    .command('validate-config')
    .description('check a configuration file without starting anything')
    .option('--config <file>', 'configuration file (default: $CFS_CONFIG, then /etc/claudefs/gateway.yaml)')
    .option('--no-port-check', 'skip checking that the configured ports are free on this host')
    .option('--json', 'print { valid, problems } as JSON')
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<ValidateConfigOptions>();
      process.exitCode = await validateConfig(options, output);
    });
}

/** The port is held by the gateway running on the file's state folder (as preflight tells). */
function heldByItsGateway(config: GatewayConfig, port: number): boolean {
  const pid = runningGatewayPid(config.stateDir);
  return pid !== undefined && portOwners(port).owners.some((o) => o.pid === pid);
}

async function validateConfig(options: ValidateConfigOptions, output: ValidateConfigOutput): Promise<number> {
  let problems: Problem[];
  try {
    const file = locateConfig(options.config);
    ({ problems } = await loadConfig(file, {
      checkPorts: options.portCheck,
      heldByItsGateway,
      empty: 'warning',
    }));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (options.json) {
      const problem: Problem = {
        file: options.config ?? COMMAND_LINE,
        line: 0,
        col: 0,
        path: '',
        message: e.message,
        severity: 'error',
      };
      output.out(JSON.stringify({ valid: false, problems: [problem] }, null, 2));
    } else {
      output.err(`cfs gateway validate-config: ${e.message}`);
    }
    return 1;
  }
  const valid = !hasErrors(problems);
  if (options.json) {
    output.out(JSON.stringify({ valid, problems }, null, 2));
  } else {
    for (const p of problems) output.out(formatProblem(p));
    if (valid) {
      output.out('configuration valid');
    } else {
      const errors = problems.filter((p) => p.severity === 'error').length;
      output.out(`configuration invalid: ${errors} error${errors === 1 ? '' : 's'}`);
    }
  }
  return valid ? 0 : 1;
}
