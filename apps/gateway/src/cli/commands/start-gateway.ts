import { PROTOCOLS, type Protocol } from '../../config/defaults.ts';
import { configuredListeners } from '../../config/listeners.ts';
import { applyOverrides } from '../../config/overrides.ts';
import { formatProblem } from '../../config/problems.ts';
import type { GatewayConfig } from '../../config/types.ts';
import { reloadFromFile, rememberStartArguments } from '../../daemon/config-reload.ts';
import { Gateway } from '../../daemon/gateway.ts';
import type { HeldSighup } from '../../daemon/held-sighup.ts';
import { createLogger } from '../../daemon/logger.ts';
import { PROTOCOL_SERVERS } from '../../daemon/protocols.ts';
import { isOperatorStartError } from '../../daemon/start-error.ts';
import { LoopWatchdog } from '../../util/loop-watchdog.ts';
import { CliExit, loadCliConfig } from '../context.ts';
import type { StartOptions } from './start.ts';

/**
 * `./cfs gateway start`: the daemon itself. Loaded only by that command (start.ts), so other
 * commands do not load the protocol servers and what they need.
 */
export async function startGateway(
  names: string[],
  opts: StartOptions,
  sighup: HeldSighup,
): Promise<number | undefined> {
  const unknown = names.filter((n) => !(PROTOCOLS as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new CliExit(`unknown protocol ${unknown.join(', ')}: choose from ${PROTOCOLS.join(', ')}`, 2);
  const named = [...new Set(names)] as Protocol[];
  const loaded = await loadCliConfig(opts.config);
  const { config, problems } = applyOverrides(loaded, opts, named);
  if (!config) {
    throw new CliExit(
      problems
        .filter((p) => p.severity === 'error')
        .map(formatProblem)
        .join('\n'),
      2,
    );
  }
  const missing = named.filter((p) => !PROTOCOL_SERVERS[p]);
  if (missing.length > 0) {
    throw new CliExit(`this build has no ${missing.join(', ')} server yet; available: ${availableList()}`, 2);
  }
  const protocols = named.length > 0 ? named : PROTOCOLS.filter((p) => config[p].enabled);
  process.title = 'claudefs-gateway';
  const log = createLogger(config.logLevel, { name: config.node.name });
  // Tells the log what the event loop waits in when it stops turning (a disk that hangs).
  if (log.isLevelEnabled('error')) {
    new LoopWatchdog({
      pretty: process.stdout.isTTY === true,
      name: config.node.name,
      onError: (e) =>
        log.warn(
          { err: e },
          `loop watchdog stopped: ${e.message}; a blocked event loop will not be reported`,
        ),
    }).start();
  }
  const gateway = new Gateway(config, protocols, log);

  let exiting = false;
  const shutdown = (signal: string) => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, 'stopping gateway');
    gateway.stop().then(
      () => {
        log.info('gateway stopped');
        process.exit(0);
      },
      (e) => {
        log.error({ err: e }, 'gateway did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  rememberStartArguments(gateway, { flags: opts, named });
  // A reload waits for the start to finish; problems are logged and reported by
  // reloadFromFile, and the running configuration stays.
  sighup.deliverTo(() => {
    reloadFromFile(gateway, 'SIGHUP').catch((e: unknown) =>
      log.error({ err: e }, 'reload failed; keeping the running configuration'),
    );
  });

  try {
    await gateway.start();
  } catch (e) {
    const cause = isOperatorStartError(e) ? { reason: (e as Error).message } : { err: e };
    log.error(cause, `gateway failed to start: ${(e as Error).message}`);
    // The log may be a journal nobody reads at the terminal: the reason goes to stderr too,
    // naming the key of a listener that could not bind.
    process.stderr.write(`gateway failed to start: ${startFailure(e, config, protocols)}\n`);
    await gateway.stop().catch(() => {});
    return 1;
  }
  log.info({ pid: process.pid, config: config.configFile, state: config.stateDir }, 'gateway started');
  await new Promise(() => {});
  return undefined;
}

/** Why the start failed, as the operator fixes it: a listen error names its key and file. */
export function startFailure(e: unknown, config: GatewayConfig, protocols: readonly Protocol[]): string {
  const err = e as NodeJS.ErrnoException & { port?: number; address?: string; hostname?: string };
  const listener = configuredListeners(config, protocols).find(
    (l) =>
      (err.port !== undefined && l.address.port === err.port) ||
      (err.hostname !== undefined && l.address.host === err.hostname),
  );
  if (!listener) return err.message;
  const why: Record<string, string> = {
    EADDRINUSE: 'the port is in use (./cfs gateway preflight names the process holding it)',
    EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
    EADDRNOTAVAIL: 'no interface of this host has that address',
    ENOTFOUND: 'the host name does not resolve',
  };
  return `${listener.key} ${listener.address.text} (${config.configFile}): ${why[err.code ?? ''] ?? err.message}`;
}

function availableList(): string {
  const have = Object.keys(PROTOCOL_SERVERS);
  return have.length > 0 ? have.join(', ') : 'none (health endpoint only)';
}
