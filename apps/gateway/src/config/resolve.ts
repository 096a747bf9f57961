import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { MetadataBackend } from './backend-url.ts';
import { type ControlBackend, controlUrlFor, parseControlUrl } from './control-url.ts';
import { metadataUrlFor, transportUrlFor } from './defaults.ts';
import type { ConfigFile } from './schema.ts';
import type { GatewayConfig, NfsExport, ObjectStoreSettings, SmbShare } from './types.ts';

type FileExport = ConfigFile['nfs']['exports'][number];
type FileShare = ConfigFile['smb']['shares'][number];

function nfsExport(e: FileExport): NfsExport {
  return {
    path: e.path,
    clients: e.clients,
    access: e.access,
    squash: e.squash,
    secure: e.secure,
    anonUid: e.anon_uid,
    anonGid: e.anon_gid,
    mode: e.mode,
    ownerUid: e.owner_uid,
    ownerGid: e.owner_gid,
  };
}

function smbShare(s: FileShare): SmbShare {
  return {
    name: s.name,
    path: s.path,
    validGroups: s.valid_groups,
    readOnly: s.read_only,
    ...(s.encryption === undefined ? {} : { encryption: s.encryption }),
    guestOk: s.guest_ok,
    hostsAllow: s.hosts_allow,
    appleExtensions: s.apple_extensions,
    convertAppleDouble: s.convert_appledouble,
    timeMachine: s.time_machine,
    ...(s.time_machine_max_size === undefined ? {} : { timeMachineMaxSize: s.time_machine_max_size }),
    mode: s.mode,
    ownerUid: s.owner_uid,
    ownerGid: s.owner_gid,
  };
}

function objectStore(t: ConfigFile['transport'], configDir: string): ObjectStoreSettings {
  return {
    ...(t.endpoint === undefined ? {} : { endpoint: t.endpoint }),
    region: t.region,
    ...(t.access_key_id === undefined ? {} : { accessKeyId: t.access_key_id }),
    ...(t.secret_access_key_file === undefined
      ? {}
      : { secretAccessKeyFile: resolve(configDir, t.secret_access_key_file) }),
    // A named endpoint is usually a self-hosted store, which rarely has wildcard DNS for buckets.
    forcePathStyle: t.force_path_style ?? t.endpoint !== undefined,
    chunkSize: t.chunk_size,
    cacheSize: t.cache_size,
    writeBufferSize: t.write_buffer_size,
    requestTimeoutMs: t.request_timeout,
  };
}

/**
 * The control plane goes where the cluster's shared state is: a PostgreSQL metadata store
 * hosts it too (in its own schema: the metadata URL's `schema` parameter is not the control
 * plane's), so nodes that share a namespace share users, keys and the node registry.
 */
function defaultControl(metadata: MetadataBackend, stateDir: string): ControlBackend {
  if (metadata.kind === 'postgres') {
    const url = new URL(metadata.url);
    url.searchParams.delete('schema');
    return parseControlUrl(url.toString());
  }
  return { kind: 'sqlite', url: controlUrlFor(stateDir), path: join(stateDir, 'control.db') };
}

/**
 * Fills what depends on where the file is: a relative state_dir or TLS path is relative to
 * the file's directory (so a config and its state can move together), and the default
 * backends live under state_dir.
 */
export function resolveConfig(file: ConfigFile, configFile: string): GatewayConfig {
  const configDir = dirname(configFile);
  const stateDir = resolve(configDir, file.node.state_dir);
  const { s3 } = file;
  const metadata: MetadataBackend = file.metadata.url ?? {
    kind: 'sqlite',
    url: metadataUrlFor(stateDir),
    path: join(stateDir, 'meta.db'),
  };
  return {
    configFile,
    stateDir,
    node: { name: file.node.name ?? hostname(), heartbeatIntervalMs: file.node.heartbeat_interval },
    logLevel: file.log_level,
    metadata,
    transport: file.transport.url ?? {
      kind: 'file',
      url: transportUrlFor(stateDir),
      path: join(stateDir, 'data'),
    },
    objectStore: objectStore(file.transport, configDir),
    directIo: file.transport.direct_io,
    inlineMaxBytes: file.transport.inline_max,
    control: file.control.url ?? defaultControl(metadata, stateDir),
    nfs: {
      enabled: file.nfs.enabled,
      bind: file.nfs.bind,
      mountBind: file.nfs.mount_bind,
      exports: file.nfs.exports.map(nfsExport),
    },
    s3: {
      enabled: s3.enabled,
      bind: s3.bind,
      region: s3.region,
      root: { path: s3.root, mode: s3.root_mode, ownerUid: s3.root_owner_uid, ownerGid: s3.root_owner_gid },
      ...(s3.domain === undefined ? {} : { domain: s3.domain }),
      ...(s3.tls === undefined
        ? {}
        : { tls: { cert: resolve(configDir, s3.tls.cert), key: resolve(configDir, s3.tls.key) } }),
      publicReadBuckets: s3.public_read_buckets,
      corsOrigins: s3.cors_origins,
      staleUploadsExpiryMs: s3.stale_uploads_expiry,
      lifecycleIntervalMs: s3.lifecycle_interval,
    },
    smb: {
      enabled: file.smb.enabled,
      bind: file.smb.bind,
      domain: file.smb.domain,
      workgroup: file.smb.workgroup,
      shares: file.smb.shares.map(smbShare),
      requireSigning: file.smb.require_signing,
      encryption: file.smb.encryption,
      mapToGuest: file.smb.map_to_guest,
      durableHandleTimeoutMs: file.smb.durable_handle_timeout,
      breakTimeoutMs: file.smb.break_timeout,
      mdns: file.smb.mdns,
    },
    health: { bind: file.health.bind, probeIntervalMs: file.health.probe_interval },
    admin: { trustLoopback: file.admin.trust_loopback },
    limits: { maxConnections: file.limits.max_connections },
    circuitBreaker: {
      failureThreshold: file.circuit_breaker.failure_threshold,
      resetTimeoutMs: file.circuit_breaker.reset_timeout,
      slowCallMs: file.circuit_breaker.slow_call,
    },
    cache: { ttlMs: file.cache.ttl, maxEntries: file.cache.max_entries },
    quota: { gracePeriodMs: file.quota.grace_period },
    audit: { retentionMs: file.audit.retention },
    identity: { groupsFromHost: file.identity.groups_from_host },
    durability: {
      metadata: file.durability.metadata,
      flushIntervalMs: file.durability.flush_interval,
      groupCommitMaxDelayMs: file.durability.group_commit_max_delay,
    },
  };
}
