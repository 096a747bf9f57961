/**
 * Values used when the file leaves a key out. Ports are the runbook's; the export, share and
 * S3 root are one path, so a fresh gateway serves the same directory over all three protocols.
 */
export const DEFAULTS = {
  configFile: '/etc/claudefs/gateway.yaml',
  stateDir: '/var/lib/claudefs',
  logLevel: 'info',
  nfsBind: '0.0.0.0:2049',
  mountBind: '0.0.0.0:20048',
  s3Bind: '0.0.0.0:9000',
  smbBind: '0.0.0.0:445',
  healthBind: '0.0.0.0:8080',
  exportPath: '/export',
  exportClients: ['0.0.0.0/0'],
  anonId: 65534,
  /** World-writable with the sticky bit, like /tmp: every user may create, only owners delete. */
  directoryMode: '1777',
  ownerId: 0,
  region: 'us-east-1',
  netbiosName: 'CLAUDEFS',
  shareName: 'export',
  maxConnections: 1024,
  failureThreshold: 5,
  resetTimeout: '10s',
  /** A backend call slower than this counts as a failure (circuit_breaker.slow_call). */
  slowCall: '5s',
  cacheTtl: '1s',
  cacheMaxEntries: 100_000,
  gracePeriod: '7d',
  /** `audit.retention`: audit entries older than this are deleted (0: kept for ever). */
  auditRetention: '365d',
  probeInterval: '2s',
  /** How long an SMB durable handle outlives its dropped connection (MS-SMB2 Open.DurableOpenTimeout). */
  durableHandleTimeout: '60s',
  /**
   * How long an SMB client has to acknowledge an oplock or lease break before its caching is
   * taken (MS-SMB2 leaves it to the server; Windows and Samba: 35 s).
   */
  breakTimeout: '35s',
  /** `s3.stale_uploads_expiry`: a multipart upload with no activity this long is aborted (MinIO's default). */
  staleUploadsExpiry: '24h',
  /** `s3.lifecycle_interval`: how often buckets' lifecycle rules are swept (S3 does so daily). */
  lifecycleInterval: '1h',
  smbEncryption: 'if_required',
  smbMapToGuest: 'never',
  /** `durability.metadata`: every change on disk before it is answered, as RFC 1813 asks. */
  metadataDurability: 'sync',
  /** `durability.flush_interval`: with `metadata: async`, the longest a change waits for the disk. */
  flushInterval: '1s',
  groupCommitMaxDelay: '0ms',
  /** A node silent for MISSED_HEARTBEATS_DOWN (3) of its intervals is shown as down. */
  heartbeatInterval: '5s',
} as const;

/**
 * `durability.metadata`. sync: a change (create, rename, remove, setattr…) is answered once on
 * disk. async: once committed — safe from a crash of the gateway, not yet from a power loss —
 * and on disk within `flush_interval` or at the next COMMIT, FLUSH, CLOSE or S3 change.
 */
export const METADATA_DURABILITY = ['sync', 'async'] as const;
export type MetadataDurability = (typeof METADATA_DURABILITY)[number];

/**
 * `smb.encryption`, Samba's `server smb encrypt`. off: not offered (a client that requires it
 * cannot connect). if_required: offered; the client decides. desired: every SMB 3.x session that
 * can encrypt does; older clients connect unencrypted. required: as desired, and a client that
 * cannot encrypt is refused (STATUS_ACCESS_DENIED). A share may ask for more than the server.
 */
export const SMB_ENCRYPTION = ['off', 'if_required', 'desired', 'required'] as const;
export type SmbEncryption = (typeof SMB_ENCRYPTION)[number];
/** What a share may ask for: never less than the server, so not `off`. */
export const SMB_SHARE_ENCRYPTION = ['if_required', 'desired', 'required'] as const;
export type SmbShareEncryption = (typeof SMB_SHARE_ENCRYPTION)[number];

/**
 * `smb.map_to_guest`, Samba's `map to guest`. never: every logon needs an account. bad_user:
 * anonymous logons and user names with no account become guest sessions (nobody, 65534:65534),
 * which may connect only to shares with `guest_ok`; a known user's wrong password still fails.
 */
export const SMB_MAP_TO_GUEST = ['never', 'bad_user'] as const;
export type SmbMapToGuest = (typeof SMB_MAP_TO_GUEST)[number];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const PROTOCOLS = ['nfs', 's3', 'smb'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Files under state_dir, and the backends derived from it when the file names none. */
export function metadataUrlFor(stateDir: string): string {
  return `sqlite://${stateDir}/meta.db`;
}

export function transportUrlFor(stateDir: string): string {
  return `file://${stateDir}/data`;
}
