import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.ts';
import { locateConfig } from '../config/locate.ts';
import { formatProblem } from '../config/problems.ts';
import type { GatewayConfig } from '../config/types.ts';
import type { OpenedNamespace } from '../storage/open.ts';

/** Raised by CLI helpers for a failure already explained to the operator; main exits with `exitCode`. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The config every `./cfs` command uses: --config, then $CFS_CONFIG, then /etc/claudefs/gateway.yaml. */
export async function loadCliConfig(explicit: string | undefined): Promise<GatewayConfig> {
  let file: string;
  try {
    file = locateConfig(explicit);
  } catch (e) {
    throw new CliExit((e as Error).message, 2);
  }
  const { config, problems } = await loadConfig(file, { checkPorts: false });
  if (!config) {
    const lines = problems.filter((p) => p.severity === 'error').map(formatProblem);
    throw new CliExit(`configuration invalid:\n${lines.join('\n')}`, 2);
  }
  return config;
}

export async function openCliNamespace(config: GatewayConfig): Promise<OpenedNamespace> {
  // A metadata database missing because its volume is not mounted, or state_dir is mistyped,
  // is not an empty namespace: `ls` would print nothing and `fsck` say clean.
  if (config.metadata.kind === 'sqlite' && !existsSync(config.metadata.path)) {
    throw new CliExit(
      `the metadata database ${config.metadata.path} does not exist (node.state_dir ${config.stateDir}): is its volume mounted? The gateway creates it when it first starts`,
      1,
    );
  }
  // Loaded by the commands that open the namespace, not by every command.
  const { openNamespace } = await import('../storage/open.ts');
  return openNamespace({
    metadataUrl: config.metadata.url,
    transportUrl: config.transport.url,
    objectStore: config.objectStore,
    inlineMaxBytes: config.inlineMaxBytes,
    cacheTtlMs: 0,
    cacheMaxEntries: 0,
    recover: false,
    checkpoints: false,
  });
}

/** Runs a command body, turning CliExit into a message on stderr and an exit code. */
export async function runCli(body: () => Promise<number | undefined>): Promise<void> {
  try {
    process.exitCode = (await body()) ?? 0;
  } catch (e) {
    if (e instanceof CliExit) {
      process.stderr.write(`${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    throw e;
  }
}
