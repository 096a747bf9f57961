import { resolve } from 'node:path';
import { parseClientMatch, parseListenAddress } from './address.ts';
import { DEFAULTS, LOG_LEVELS, type LogLevel, type Protocol } from './defaults.ts';
import { InvalidValue } from './invalid-value.ts';
import { clashMessage, configuredListeners, findPortClashes } from './listeners.ts';
import { parseMode } from './mode.ts';
import { parseNetbiosName } from './names.ts';
import { parseNamespacePath } from './namespace-path.ts';
import { COMMAND_LINE, hasErrors, type Problem } from './problems.ts';
import { checkTlsPair } from './tls-check.ts';
import type { GatewayConfig, NfsExport } from './types.ts';

/** `cfs gateway start` flags, under the names commander gives them. */
export interface OverrideFlags {
  bind?: string;
  mountBind?: string;
  export?: string;
  tlsCert?: string;
  tlsKey?: string;
  domain?: string;
  workgroup?: string;
  logLevel?: string;
}

export interface OverrideResult {
  /** Present only when no problem is an error. */
  config?: GatewayConfig;
  problems: Problem[];
}

function defaultExport(path: string): NfsExport {
  return {
    path,
    clients: DEFAULTS.exportClients.map(parseClientMatch),
    access: 'rw',
    squash: 'root',
    secure: false,
    anonUid: DEFAULTS.anonId,
    anonGid: DEFAULTS.anonId,
    mode: parseMode(DEFAULTS.directoryMode),
    ownerUid: DEFAULTS.ownerId,
    ownerGid: DEFAULTS.ownerId,
  };
}

/** An export as the defaults make it (the file did not limit it). */
function isDefaultExport(e: NfsExport): boolean {
  const d = defaultExport(e.path);
  return (
    e.access === d.access &&
    e.squash === d.squash &&
    e.secure === d.secure &&
    e.anonUid === d.anonUid &&
    e.anonGid === d.anonGid &&
    e.clients.map((c) => c.text).join() === d.clients.map((c) => c.text).join()
  );
}

function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/**
 * The configuration with command-line flags laid over it, for a command starting `protocols`
 * (none named: every protocol the file enables). The input is not modified.
 *
 * `--bind` belongs to the one protocol named and is refused when that is ambiguous. `--export
 * /p` leaves a single export at /p: the file's export at that path if it has one, else one
 * with default settings — refused when the file limits its exports (clients, access, squash),
 * since the default is read-write to every host. Flags for a protocol that will not run are
 * refused rather than ignored. TLS files are checked again (unless `checkTlsFiles` is false:
 * preflight reports on them as its certificates item), and ports once more for clashes.
 */
export function applyOverrides(
  config: GatewayConfig,
  flags: OverrideFlags,
  named: readonly Protocol[],
  options: { checkTlsFiles?: boolean } = {},
): OverrideResult {
  const protocols = [...new Set(named)];
  const next = structuredClone(config);
  const problems: Problem[] = [];
  const problem: Report = (path, message, severity = 'error', file = COMMAND_LINE) =>
    problems.push({ file, line: 0, col: 0, path, message, severity });
  /** Why a flag for `protocol` cannot apply, or undefined when it can. */
  const notRunning = (protocol: Protocol): string | undefined => {
    if (protocols.length === 0) {
      return config[protocol].enabled ? undefined : `${protocol}.enabled is false in ${config.configFile}`;
    }
    return protocols.includes(protocol) ? undefined : 'it is not being started';
  };
  /** The flag's value parsed for `protocol`, or undefined after recording why not. */
  const take = <T>(flag: string, protocol: Protocol, value: string, parse: (t: string) => T) => {
    const why = notRunning(protocol);
    if (why !== undefined) {
      problem(flag, `${flag} applies to ${protocol}, and ${why}`);
      return undefined;
    }
    try {
      return parse(value);
    } catch (e) {
      if (!(e instanceof InvalidValue)) throw e;
      problem(flag, e.message);
      return undefined;
    }
  };
  const overridden = new Map<string, string>();

  if (flags.bind !== undefined) {
    const [only, ...more] = protocols;
    if (only === undefined) {
      problem(
        '--bind',
        '--bind needs a protocol to apply to: name one, e.g. cfs gateway start nfs --bind 0.0.0.0:2049',
      );
    } else if (more.length > 0) {
      const keys = protocols.map((p) => `${p}.bind`).join(', ');
      problem(
        '--bind',
        `--bind is ambiguous with ${protocols.join(', ')}: start one protocol, or set ${keys} in the file`,
      );
    } else {
      const address = take('--bind', only, flags.bind, parseListenAddress);
      if (address) {
        next[only].bind = address;
        overridden.set(`${only}.bind`, '--bind');
      }
    }
  }
  if (flags.mountBind !== undefined) {
    const address = take('--mount-bind', 'nfs', flags.mountBind, parseListenAddress);
    if (address) {
      next.nfs.mountBind = address;
      overridden.set('nfs.mount_bind', '--mount-bind');
    }
  }
  if (flags.export !== undefined) {
    const path = take('--export', 'nfs', flags.export, parseNamespacePath);
    const written = path === undefined ? undefined : config.nfs.exports.find((e) => e.path === path);
    if (written) next.nfs.exports = [written];
    else if (path !== undefined && config.nfs.exports.every(isDefaultExport))
      next.nfs.exports = [defaultExport(path)];
    else if (path !== undefined) {
      // A new export takes the defaults, open to every host: not in place of ones the file limits.
      problem(
        '--export',
        `the file exports ${config.nfs.exports.map((e) => e.path).join(', ') || 'nothing'}, not ${path}: add ${path} to nfs.exports with the clients that may mount it (made from the flag alone it would be read-write to every host)`,
      );
    }
  }
  if (flags.domain !== undefined) {
    const domain = take('--domain', 'smb', flags.domain, parseNetbiosName);
    if (domain !== undefined) next.smb.domain = domain;
  }
  if (flags.workgroup !== undefined) {
    const workgroup = take('--workgroup', 'smb', flags.workgroup, parseNetbiosName);
    if (workgroup !== undefined) next.smb.workgroup = workgroup;
  }
  if (flags.logLevel !== undefined) {
    const level = flags.logLevel;
    if (isLogLevel(level)) next.logLevel = level;
    else problem('--log-level', `must be one of ${LOG_LEVELS.join(', ')}; got '${level}'`);
  }
  applyTls(config, next, flags, notRunning('s3'), problem, options.checkTlsFiles ?? true);

  for (const { listener, other } of findPortClashes(configuredListeners(next, protocols))) {
    // Said from the flag's side: the message names the listener the flag collides with.
    const mine = overridden.has(listener.key) ? { listener, other } : { listener: other, other: listener };
    const flag = overridden.get(mine.listener.key);
    if (flag !== undefined) problem(flag, clashMessage(mine));
  }
  return hasErrors(problems) ? { problems } : { config: next, problems };
}

type Report = (path: string, message: string, severity?: Problem['severity'], file?: string) => void;

function applyTls(
  config: GatewayConfig,
  next: GatewayConfig,
  flags: OverrideFlags,
  s3NotRunning: string | undefined,
  problem: Report,
  checkFiles: boolean,
): void {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) return;
  const flag = flags.tlsCert !== undefined ? '--tls-cert' : '--tls-key';
  if (s3NotRunning !== undefined) {
    problem(flag, `${flag} applies to s3, and ${s3NotRunning}`);
    return;
  }
  const cert = flags.tlsCert === undefined ? config.s3.tls?.cert : resolve(flags.tlsCert);
  const key = flags.tlsKey === undefined ? config.s3.tls?.key : resolve(flags.tlsKey);
  if (cert === undefined || key === undefined) {
    const missing = cert === undefined ? '--tls-cert' : '--tls-key';
    problem(missing, `${flag} needs ${missing} too (s3.tls is not set in ${config.configFile})`);
    return;
  }
  next.s3.tls = { cert, key };
  if (!checkFiles) return;
  const domain = config.s3.domain;
  for (const finding of checkTlsPair(cert, key, domain === undefined ? {} : { domain })) {
    const fromFlag = finding.file === 'cert' ? flags.tlsCert !== undefined : flags.tlsKey !== undefined;
    if (fromFlag) problem(`--tls-${finding.file}`, finding.message, finding.severity);
    else problem(`s3.tls.${finding.file}`, finding.message, finding.severity, config.configFile);
  }
}
