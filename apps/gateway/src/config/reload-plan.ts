import { formatDuration } from '../util/units.ts';
import { redactUrl } from './backend-url.ts';
import { formatMode } from './mode.ts';
import type { GatewayConfig, NfsExport, ServedDirectory, SmbShare } from './types.ts';

/** One setting that differs between the running configuration and the file. */
export interface SettingChange {
  /**
   * The file's key path: `cache.ttl`, `nfs.exports.1.access` (the file's new index),
   * `smb.shares.0`. Not named `key`: the audit log redacts fields named like secrets.
   */
  setting: string;
  /** As an operator reads it; database URLs without their password. "(none)" when absent. */
  from: string;
  to: string;
  /** Why a change does less than its value says (a directory that already exists keeps its mode). */
  note?: string;
}

export interface ReloadPlan {
  /** What the gateway runs after the reload: the file's live settings, the running rest. */
  config: GatewayConfig;
  /** Taking effect now. */
  applied: SettingChange[];
  /** Written in the file, kept at their running values until the next start. */
  pendingRestart: SettingChange[];
}

type Path = readonly string[];

/**
 * Every setting outside the export and share lists, with the file key it is written under and
 * whether a running gateway applies a new value (SIGHUP, `./cfs gateway reload`). Live settings
 * are read where they are used or re-applied by Gateway.reload (S3's region, domain and public
 * buckets from the next request; SMB's domain, workgroup, signing, encryption and guest mapping from the next session);
 * the others are bound at start (listeners, stores, the node's identity, durability) and keep
 * their running values.
 */
interface Setting {
  key: string;
  path: Path;
  live: boolean | ((from: unknown, to: unknown) => boolean);
  unit?: 'ms' | 'url';
}

const SETTINGS: readonly Setting[] = [
  { key: 'log_level', path: ['logLevel'], live: true },
  { key: 'node.name', path: ['node', 'name'], live: false },
  { key: 'node.state_dir', path: ['stateDir'], live: false },
  { key: 'node.heartbeat_interval', path: ['node', 'heartbeatIntervalMs'], live: true, unit: 'ms' },
  { key: 'metadata.url', path: ['metadata'], live: false, unit: 'url' },
  { key: 'transport.url', path: ['transport'], live: false, unit: 'url' },
  { key: 'transport.endpoint', path: ['objectStore', 'endpoint'], live: false },
  { key: 'transport.region', path: ['objectStore', 'region'], live: false },
  { key: 'transport.access_key_id', path: ['objectStore', 'accessKeyId'], live: false },
  { key: 'transport.secret_access_key_file', path: ['objectStore', 'secretAccessKeyFile'], live: false },
  { key: 'transport.force_path_style', path: ['objectStore', 'forcePathStyle'], live: false },
  { key: 'transport.chunk_size', path: ['objectStore', 'chunkSize'], live: false },
  { key: 'transport.cache_size', path: ['objectStore', 'cacheSize'], live: false },
  { key: 'transport.write_buffer_size', path: ['objectStore', 'writeBufferSize'], live: false },
  { key: 'transport.request_timeout', path: ['objectStore', 'requestTimeoutMs'], live: false, unit: 'ms' },
  { key: 'transport.direct_io', path: ['directIo'], live: false },
  { key: 'transport.inline_max', path: ['inlineMaxBytes'], live: false },
  { key: 'control.url', path: ['control'], live: false, unit: 'url' },
  { key: 'nfs.enabled', path: ['nfs', 'enabled'], live: false },
  { key: 'nfs.bind', path: ['nfs', 'bind'], live: false },
  { key: 'nfs.mount_bind', path: ['nfs', 'mountBind'], live: false },
  { key: 's3.enabled', path: ['s3', 'enabled'], live: false },
  { key: 's3.bind', path: ['s3', 'bind'], live: false },
  { key: 's3.region', path: ['s3', 'region'], live: true },
  { key: 's3.root', path: ['s3', 'root', 'path'], live: false },
  { key: 's3.root_mode', path: ['s3', 'root', 'mode'], live: false },
  { key: 's3.root_owner_uid', path: ['s3', 'root', 'ownerUid'], live: false },
  { key: 's3.root_owner_gid', path: ['s3', 'root', 'ownerGid'], live: false },
  { key: 's3.domain', path: ['s3', 'domain'], live: true },
  // A new pair is served at once (the certificates feature reloads it); HTTP <-> HTTPS is a new listener.
  { key: 's3.tls', path: ['s3', 'tls'], live: (from, to) => from !== undefined && to !== undefined },
  { key: 's3.public_read_buckets', path: ['s3', 'publicReadBuckets'], live: true },
  { key: 's3.cors_origins', path: ['s3', 'corsOrigins'], live: true },
  { key: 's3.stale_uploads_expiry', path: ['s3', 'staleUploadsExpiryMs'], live: true, unit: 'ms' },
  { key: 's3.lifecycle_interval', path: ['s3', 'lifecycleIntervalMs'], live: true, unit: 'ms' },
  { key: 'smb.enabled', path: ['smb', 'enabled'], live: false },
  { key: 'smb.bind', path: ['smb', 'bind'], live: false },
  { key: 'smb.domain', path: ['smb', 'domain'], live: true },
  { key: 'smb.workgroup', path: ['smb', 'workgroup'], live: true },
  { key: 'smb.require_signing', path: ['smb', 'requireSigning'], live: true },
  { key: 'smb.encryption', path: ['smb', 'encryption'], live: true },
  { key: 'smb.map_to_guest', path: ['smb', 'mapToGuest'], live: true },
  { key: 'smb.durable_handle_timeout', path: ['smb', 'durableHandleTimeoutMs'], live: true, unit: 'ms' },
  { key: 'smb.break_timeout', path: ['smb', 'breakTimeoutMs'], live: true, unit: 'ms' },
  { key: 'smb.mdns', path: ['smb', 'mdns'], live: true },
  { key: 'health.bind', path: ['health', 'bind'], live: false },
  { key: 'health.probe_interval', path: ['health', 'probeIntervalMs'], live: false, unit: 'ms' },
  { key: 'admin.trust_loopback', path: ['admin', 'trustLoopback'], live: true },
  { key: 'limits.max_connections', path: ['limits', 'maxConnections'], live: true },
  { key: 'circuit_breaker.failure_threshold', path: ['circuitBreaker', 'failureThreshold'], live: true },
  {
    key: 'circuit_breaker.reset_timeout',
    path: ['circuitBreaker', 'resetTimeoutMs'],
    live: true,
    unit: 'ms',
  },
  { key: 'circuit_breaker.slow_call', path: ['circuitBreaker', 'slowCallMs'], live: true, unit: 'ms' },
  { key: 'cache.ttl', path: ['cache', 'ttlMs'], live: true, unit: 'ms' },
  { key: 'cache.max_entries', path: ['cache', 'maxEntries'], live: true },
  { key: 'quota.grace_period', path: ['quota', 'gracePeriodMs'], live: true, unit: 'ms' },
  { key: 'audit.retention', path: ['audit', 'retentionMs'], live: true, unit: 'ms' },
  { key: 'identity.groups_from_host', path: ['identity', 'groupsFromHost'], live: true },
  { key: 'durability.metadata', path: ['durability', 'metadata'], live: false },
  { key: 'durability.flush_interval', path: ['durability', 'flushIntervalMs'], live: false, unit: 'ms' },
  {
    key: 'durability.group_commit_max_delay',
    path: ['durability', 'groupCommitMaxDelayMs'],
    live: false,
    unit: 'ms',
  },
];

/**
 * Where in GatewayConfig a reload looks: the table's paths, the two lists, and the file's own
 * path. A test walks a resolved configuration and finds each of its values under one of these,
 * so a setting added later cannot be left out of reloads silently.
 */
export const RELOAD_COVERS: readonly Path[] = [
  ...SETTINGS.map((s) => s.path),
  ['nfs', 'exports'],
  ['smb', 'shares'],
  ['configFile'],
];

function read(config: unknown, path: Path): unknown {
  let v: unknown = config;
  for (const k of path) v = v === undefined ? undefined : (v as Record<string, unknown>)[k];
  return v;
}

function write(config: object, path: Path, value: unknown): void {
  let o = config as Record<string, unknown>;
  for (const k of path.slice(0, -1)) {
    o[k] = { ...(o[k] as object) };
    o = o[k] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete o[last];
  else o[last] = value;
}

function text(value: unknown, unit?: Setting['unit']): string {
  if (value === undefined) return '(none)';
  // A store is its URL; kind, path and bucket are read from it.
  if (unit === 'url') return redactUrl(String((value as { url?: unknown }).url ?? value));
  if (unit === 'ms' && typeof value === 'number') return formatDuration(value);
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map((v) => text(v)).join(', ');
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    if (typeof o.text === 'string') return o.text;
    if (typeof o.cert === 'string') return `cert ${o.cert}, key ${String(o.key)}`;
    return JSON.stringify(value);
  }
  return String(value);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The served-directory fields, which only matter when the gateway creates the directory. */
const CREATION_FIELDS: ReadonlyArray<[string, (d: ServedDirectory) => string]> = [
  ['mode', (d) => formatMode(d.mode)],
  ['owner_uid', (d) => String(d.ownerUid)],
  ['owner_gid', (d) => String(d.ownerGid)],
];
const CREATION_NOTE = 'used when the gateway creates the directory; an existing one is left as it is';

type Field<T> = [string, (item: T) => string];
const EXPORT_FIELDS: ReadonlyArray<Field<NfsExport>> = [
  ['access', (e) => e.access],
  ['clients', (e) => text(e.clients)],
  ['squash', (e) => e.squash],
  ['secure', (e) => String(e.secure)],
  ['anon_uid', (e) => String(e.anonUid)],
  ['anon_gid', (e) => String(e.anonGid)],
];
const SHARE_FIELDS: ReadonlyArray<Field<SmbShare>> = [
  ['path', (s) => s.path],
  ['read_only', (s) => String(s.readOnly)],
  ['valid_groups', (s) => text(s.validGroups)],
  ['encryption', (s) => s.encryption ?? '(as smb.encryption)'],
  ['guest_ok', (s) => String(s.guestOk)],
  ['hosts_allow', (s) => text(s.hostsAllow)],
  ['apple_extensions', (s) => String(s.appleExtensions)],
  ['convert_appledouble', (s) => String(s.convertAppleDouble)],
  ['time_machine', (s) => String(s.timeMachine)],
  ['time_machine_max_size', (s) => String(s.timeMachineMaxSize ?? '(none)')],
];

/**
 * Compares two lists of exports or shares matched by identity (an export by its path, a share
 * by its name), so inserting one entry does not read as every later entry changed.
 */
function diffList<T extends ServedDirectory>(
  section: string,
  before: readonly T[],
  after: readonly T[],
  identity: (item: T) => string,
  fields: ReadonlyArray<Field<T>>,
  summary: (item: T) => string,
): SettingChange[] {
  const changes: SettingChange[] = [];
  const old = new Map(before.map((item) => [identity(item), item]));
  for (const [i, item] of after.entries()) {
    const was = old.get(identity(item));
    old.delete(identity(item));
    if (!was) {
      changes.push({ setting: `${section}.${i}`, from: '(none)', to: summary(item) });
      continue;
    }
    for (const [name, show] of fields) {
      if (show(was) !== show(item))
        changes.push({ setting: `${section}.${i}.${name}`, from: show(was), to: show(item) });
    }
    for (const [name, show] of CREATION_FIELDS) {
      if (show(was) !== show(item))
        changes.push({
          setting: `${section}.${i}.${name}`,
          from: show(was),
          to: show(item),
          note: CREATION_NOTE,
        });
    }
  }
  for (const item of old.values()) changes.push({ setting: section, from: summary(item), to: '(removed)' });
  return changes;
}

const exportSummary = (e: NfsExport) =>
  `${e.path} (${e.access}, clients ${text(e.clients)}, squash ${e.squash})`;
const shareSummary = (s: SmbShare) =>
  `${s.name} = ${s.path}${s.readOnly ? ' (read only)' : ''}${s.validGroups.length ? `, valid_groups ${s.validGroups.join(', ')}` : ''}`;

/**
 * What a reload of `loaded` over `running` does: which settings change now, which wait for a
 * restart, and the configuration the gateway then runs. The file's path and the protocols
 * named at start never change on a reload.
 */
export function planReload(running: GatewayConfig, loaded: GatewayConfig): ReloadPlan {
  const config = structuredClone(running);
  const applied: SettingChange[] = [];
  const pendingRestart: SettingChange[] = [];
  for (const s of SETTINGS) {
    const from = read(running, s.path);
    const to = read(loaded, s.path);
    if (same(from, to)) continue;
    const change = { setting: s.key, from: text(from, s.unit), to: text(to, s.unit) };
    const live = typeof s.live === 'function' ? s.live(from, to) : s.live;
    if (live) {
      write(config, s.path, structuredClone(to));
      applied.push(change);
    } else {
      pendingRestart.push(change);
    }
  }
  const lists = [
    ...diffList(
      'nfs.exports',
      running.nfs.exports,
      loaded.nfs.exports,
      (e) => e.path,
      EXPORT_FIELDS,
      exportSummary,
    ),
    ...diffList(
      'smb.shares',
      running.smb.shares,
      loaded.smb.shares,
      (s) => s.name.toUpperCase(),
      SHARE_FIELDS,
      shareSummary,
    ),
  ];
  config.nfs.exports = structuredClone(loaded.nfs.exports);
  config.smb.shares = structuredClone(loaded.smb.shares);
  applied.push(...lists);
  return { config, applied, pendingRestart };
}

/** One line per change, for the log and the terminal. */
export function changeText(c: SettingChange): string {
  return `${c.setting}: ${c.from} -> ${c.to}${c.note ? ` (${c.note})` : ''}`;
}
