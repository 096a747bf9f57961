import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseListenAddress } from './address.ts';
import { parseMetadataUrl } from './backend-url.ts';
import { DEFAULTS, type Protocol } from './defaults.ts';
import { clashMessage, findPortClashes, type Listener } from './listeners.ts';
import { parseNamespacePath } from './namespace-path.ts';
import type { Finding } from './problems.ts';
import { checkTlsPair } from './tls-check.ts';

/**
 * Checks that span keys. They read the raw document, not the schema's output, so they still
 * run when some other key is wrong: every problem in the file is listed in one pass. A value
 * that does not parse is skipped here; the schema reports it.
 */

type Raw = Record<string, unknown>;

function mapAt(raw: unknown, key: string): Raw {
  const v = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Raw)[key] : undefined;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : {};
}

function listAt(section: Raw, key: string): unknown[] | undefined {
  const v = section[key];
  return Array.isArray(v) ? v : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function enabled(raw: unknown, protocol: Protocol): boolean {
  return mapAt(raw, protocol).enabled !== false;
}

function parsedOrUndefined<T>(parse: (t: string) => T, value: unknown): T | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    return parse(String(value));
  } catch {
    return undefined;
  }
}

function rawListeners(raw: unknown): Listener[] {
  const keys: [section: string, key: string, fallback: string, on: boolean][] = [
    ['nfs', 'bind', DEFAULTS.nfsBind, enabled(raw, 'nfs')],
    ['nfs', 'mount_bind', DEFAULTS.mountBind, enabled(raw, 'nfs')],
    ['s3', 'bind', DEFAULTS.s3Bind, enabled(raw, 's3')],
    ['smb', 'bind', DEFAULTS.smbBind, enabled(raw, 'smb')],
    ['health', 'bind', DEFAULTS.healthBind, true],
  ];
  const listeners: Listener[] = [];
  for (const [section, key, fallback, on] of keys) {
    if (!on) continue;
    const address = parsedOrUndefined(parseListenAddress, mapAt(raw, section)[key] ?? fallback);
    if (address) listeners.push({ key: `${section}.${key}`, address });
  }
  return listeners;
}

function portClashes(raw: unknown): Finding[] {
  return findPortClashes(rawListeners(raw)).map((clash) => ({
    path: clash.listener.key.split('.'),
    message: clashMessage(clash),
    severity: 'error',
    at: 'value',
  }));
}

/** Later entries repeating an earlier entry's `field`, compared after `normalise`. */
function duplicateEntries(
  items: readonly unknown[],
  listPath: string[],
  field: string,
  normalise: (v: unknown, item: Raw) => string | undefined,
  message: (first: number, duplicate: number) => string,
): Finding[] {
  const firstSeen = new Map<string, number>();
  const findings: Finding[] = [];
  items.forEach((item, i) => {
    const value = normalise(mapAtItem(item)[field], mapAtItem(item));
    if (value === undefined) return;
    const first = firstSeen.get(value);
    if (first === undefined) firstSeen.set(value, i);
    else
      findings.push({
        path: [...listPath, i, field],
        message: message(first, i),
        severity: 'error',
        at: 'value',
      });
  });
  return findings;
}

function mapAtItem(item: unknown): Raw {
  return typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as Raw) : {};
}

const namespacePath = (v: unknown) => parsedOrUndefined(parseNamespacePath, v);

function exportChecks(raw: unknown): Finding[] {
  const nfs = mapAt(raw, 'nfs');
  const exports = listAt(nfs, 'exports');
  if (exports === undefined) return [];
  if (exports.length === 0 && enabled(raw, 'nfs')) {
    const message = 'nfs is enabled but exports nothing: add an export or set nfs.enabled: false';
    return [{ path: ['nfs', 'exports'], message, severity: 'error', at: 'value' }];
  }
  return duplicateEntries(exports, ['nfs', 'exports'], 'path', namespacePath, (first) => {
    return `${text(mapAtItem(exports[first]).path)} is already exported by nfs.exports.${first}`;
  });
}

function shareChecks(raw: unknown): Finding[] {
  const smb = mapAt(raw, 'smb');
  const shares = listAt(smb, 'shares');
  if (shares === undefined) return [];
  if (shares.length === 0 && enabled(raw, 'smb')) {
    const message = 'smb is enabled but shares nothing: add a share or set smb.enabled: false';
    return [{ path: ['smb', 'shares'], message, severity: 'error', at: 'value' }];
  }
  const nameOf = (i: number) => text(mapAtItem(shares[i]).name);
  return [
    ...encryptionBeyondServer(smb, shares),
    ...guestShares(smb, shares),
    ...timeMachineShares(shares),
    ...duplicateEntries(
      shares,
      ['smb', 'shares'],
      'name',
      (v) => text(v)?.toLowerCase(),
      (first, i) =>
        `share name '${nameOf(i)}' is already used by smb.shares.${first} ('${nameOf(first)}'; share names ignore case)`,
    ),
    ...duplicateEntries(
      shares,
      ['smb', 'shares'],
      'path',
      sameSettingsKey,
      (first) =>
        `${text(mapAtItem(shares[first]).path)} is already shared as '${nameOf(first)}' (smb.shares.${first}) with the same settings: two shares of one folder are for different ones (apple_extensions for Macs, read_only, valid_groups)`,
    ),
  ];
}

/**
 * Two shares of one folder are how Samba serves it with different settings — Macs through
 * apple_extensions beside Windows clients, a read-only share beside a writable one — and are
 * allowed; two with the same settings but the name are a mistake. This keys a share's path
 * by its other settings, so only those collide.
 */
function sameSettingsKey(path: unknown, share: Raw): string | undefined {
  const normal = namespacePath(path);
  if (normal === undefined) return undefined;
  const { name: _name, path: _path, ...settings } = share;
  const sorted = Object.keys(settings)
    .sort()
    .map((k) => [k, settings[k]]);
  return `${normal}\0${JSON.stringify(sorted)}`;
}

/** A share cannot ask for encryption the server does not offer (`smb.encryption: off`). */
function encryptionBeyondServer(smb: Raw, shares: readonly unknown[]): Finding[] {
  if (smb.encryption !== 'off') return [];
  const findings: Finding[] = [];
  shares.forEach((share, i) => {
    const wanted = mapAtItem(share).encryption;
    if (wanted !== 'desired' && wanted !== 'required') return;
    findings.push({
      path: ['smb', 'shares', i, 'encryption'],
      message: `'${wanted}' cannot be met: smb.encryption is off, so no client can encrypt; set smb.encryption to if_required (or remove this key)`,
      severity: 'error',
      at: 'value',
    });
  });
  return findings;
}

/** A share taking guests: guests must be able to log on, and cannot encrypt. */
function guestShares(smb: Raw, shares: readonly unknown[]): Finding[] {
  const findings: Finding[] = [];
  shares.forEach((share, i) => {
    const s = mapAtItem(share);
    if (s.guest_ok !== true) return;
    const path = ['smb', 'shares', i, 'guest_ok'];
    if (smb.encryption === 'required' || s.encryption === 'required') {
      const where = s.encryption === 'required' ? 'its encryption' : 'smb.encryption';
      const message = `a guest session cannot encrypt, and ${where} is required: no guest could connect`;
      findings.push({ path, message, severity: 'error', at: 'value' });
    } else if (smb.map_to_guest !== 'bad_user') {
      const message = 'has no effect while smb.map_to_guest is never (no logon becomes a guest)';
      findings.push({ path, message, severity: 'warning', at: 'value' });
    }
  });
  return findings;
}

/**
 * Time Machine over SMB needs Apple's extensions (FULL_SYNC is offered in the AAPL reply);
 * AppleDouble conversion is one of them.
 */
function timeMachineShares(shares: readonly unknown[]): Finding[] {
  const findings: Finding[] = [];
  shares.forEach((share, i) => {
    const s = mapAtItem(share);
    if (s.time_machine === true && s.apple_extensions !== true) {
      const message =
        'needs apple_extensions: true (a Mac backs up only to a share that answers its AAPL query)';
      findings.push({ path: ['smb', 'shares', i, 'time_machine'], message, severity: 'error', at: 'value' });
    }
    if (s.convert_appledouble !== undefined && s.apple_extensions !== true) {
      findings.push({
        path: ['smb', 'shares', i, 'convert_appledouble'],
        message: 'has no effect without apple_extensions: true',
        severity: 'warning',
        at: 'value',
      });
    }
    if (s.time_machine_max_size !== undefined && s.time_machine !== true) {
      const message = 'has no effect without time_machine: true';
      findings.push({
        path: ['smb', 'shares', i, 'time_machine_max_size'],
        message,
        severity: 'warning',
        at: 'value',
      });
    }
  });
  return findings;
}

function tlsChecks(raw: unknown, configDir: string): Finding[] {
  const s3 = mapAt(raw, 's3');
  const tls = mapAt(s3, 'tls');
  const cert = text(tls.cert);
  const key = text(tls.key);
  if (!enabled(raw, 's3') || cert === undefined || key === undefined || cert === '' || key === '') return [];
  const domain = text(s3.domain);
  const findings = checkTlsPair(resolve(configDir, cert), resolve(configDir, key), domain ? { domain } : {});
  return findings.map((f) => ({
    path: ['s3', 'tls', f.file],
    message: f.message,
    severity: f.severity,
    at: 'value',
  }));
}

/**
 * `durability.metadata: async` defers the embedded store's WAL flushes; PostgreSQL commits are
 * its own to make durable (its `synchronous_commit`), so there the key would do nothing.
 */
function durabilityChecks(raw: unknown): Finding[] {
  const durability = mapAt(raw, 'durability');
  const backend = parsedOrUndefined(parseMetadataUrl, mapAt(raw, 'metadata').url);
  const findings: Finding[] = [];
  if (durability.metadata === 'async' && backend?.kind === 'postgres') {
    findings.push({
      path: ['durability', 'metadata'],
      message:
        'async applies to the embedded SQLite metadata store; with PostgreSQL metadata set synchronous_commit on the PostgreSQL server instead',
      severity: 'error',
      at: 'value',
    });
  }
  if (durability.flush_interval !== undefined && durability.metadata !== 'async') {
    findings.push({
      path: ['durability', 'flush_interval'],
      message:
        'has no effect unless durability.metadata is async (changes are flushed before they are answered)',
      severity: 'warning',
      at: 'key',
    });
  }
  return findings;
}

/**
 * `node.state_dir` must be a folder, or one the gateway can make: where it does not exist yet,
 * its nearest existing parent must be a folder, and not in /proc or /sys (where nothing can
 * be made). Checked when the file is read, so `validate-config` says so at the key, not the
 * start at its first write.
 */
function stateDirCheck(raw: unknown, configDir: string): Finding[] {
  const dir = text(mapAt(raw, 'node').state_dir);
  if (dir === undefined || dir === '') return [];
  const problem = stateDirProblem(resolve(configDir, dir));
  return problem ? [{ path: ['node', 'state_dir'], message: problem, severity: 'error', at: 'value' }] : [];
}

function stateDirProblem(dir: string): string | undefined {
  for (let p = dir; ; p = dirname(p)) {
    if (p === '/proc' || p === '/sys') return `${dir} is under ${p}, where no folder can be made`;
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(p) !== p) continue;
      if (code === 'ENOTDIR') return `${dir} cannot be a folder: a part of its path is a file`;
      return `${dir} cannot be checked: ${(e as Error).message}`;
    }
    if (isDir) return undefined;
    return p === dir
      ? `${dir} is a file, not a folder`
      : `${dir} cannot be made: ${p} is a file, not a folder`;
  }
}

/**
 * `configDir` anchors relative TLS paths, as it anchors a relative state_dir. With `tlsAsWarnings`
 * certificate problems are reported but do not make the file invalid: the tools an operator
 * needs most when a certificate is bad (`cert status`, `preflight`, `drain`) still get a config.
 */
export function crossCheck(raw: unknown, configDir: string, tlsAsWarnings = false): Finding[] {
  const tls = tlsChecks(raw, configDir).map((f) =>
    tlsAsWarnings ? { ...f, severity: 'warning' as const } : f,
  );
  return [
    ...stateDirCheck(raw, configDir),
    ...portClashes(raw),
    ...exportChecks(raw),
    ...shareChecks(raw),
    ...durabilityChecks(raw),
    ...tls,
  ];
}
