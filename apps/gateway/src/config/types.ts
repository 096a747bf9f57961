import type { ClientMatch, ListenAddress } from './address.ts';
import type { MetadataBackend, TransportBackend } from './backend-url.ts';
import type { ControlBackend } from './control-url.ts';
import type {
  LogLevel,
  MetadataDurability,
  SmbEncryption,
  SmbMapToGuest,
  SmbShareEncryption,
} from './defaults.ts';

export type { ClientMatch, ListenAddress } from './address.ts';
export type { MetadataBackend, TransportBackend } from './backend-url.ts';
export type { ControlBackend } from './control-url.ts';
export type { LogLevel, Protocol, SmbEncryption, SmbMapToGuest, SmbShareEncryption } from './defaults.ts';

/**
 * A namespace directory the gateway creates at first start if missing, with this owner and
 * mode. Existing directories are left as they are.
 */
export interface ServedDirectory {
  path: string;
  mode: number;
  ownerUid: number;
  ownerGid: number;
}

export interface NfsExport extends ServedDirectory {
  clients: ClientMatch[];
  access: 'rw' | 'ro';
  /** root: uid 0 becomes anon; all: everyone becomes anon; none: ids are trusted as sent. */
  squash: 'root' | 'all' | 'none';
  /** exports(5) `secure`: NFS calls and mounts only from privileged ports (below 1024). */
  secure: boolean;
  anonUid: number;
  anonGid: number;
}

/**
 * How to reach an S3-compatible data store: the `transport` section's keys besides `url`
 * (which names the bucket and prefix). A local directory uses `cacheSize` of them.
 */
export interface ObjectStoreSettings {
  /** `http(s)://host[:port]`; absent means AWS itself. */
  endpoint?: string;
  region: string;
  /** Absent: AWS_ACCESS_KEY_ID from the environment. */
  accessKeyId?: string;
  /** Absolute path of a file holding the secret key; absent: AWS_SECRET_ACCESS_KEY. */
  secretAccessKeyFile?: string;
  /** `http://host/bucket/key` rather than `http://bucket.host/key`; default: when an endpoint is set. */
  forcePathStyle: boolean;
  /** Bytes per chunk object. */
  chunkSize: number;
  /**
   * Bytes of the in-memory read cache: chunks of an object store; for a local directory,
   * copies of files up to 1 MiB (whole), sent without copying.
   */
  cacheSize: number;
  /** Bytes of unsynced writes held before the oldest are uploaded early. */
  writeBufferSize: number;
  requestTimeoutMs: number;
}

export interface SmbShare extends ServedDirectory {
  name: string;
  /** Empty means every authenticated user. */
  validGroups: string[];
  readOnly: boolean;
  /** Absent: as the server's `smb.encryption`; else at least this much. */
  encryption?: SmbShareEncryption;
  /** Guest sessions may connect (smb.map_to_guest: bad_user). */
  guestOk: boolean;
  /** Client addresses that may connect (Samba's hosts allow); empty: any. */
  hostsAllow: ClientMatch[];
  /** Apple's SMB2 extensions for macOS clients (AAPL, AFP_AfpInfo, AFP_Resource), as Samba's vfs_fruit. */
  appleExtensions: boolean;
  /**
   * With appleExtensions: a `._name` AppleDouble file is converted into name's streams when a
   * Mac opens one of them or lists the folder, as Samba's `fruit:convert_adouble`.
   */
  convertAppleDouble: boolean;
  /** A Time Machine destination: FULL_SYNC offered, and the size below reported to Macs. */
  timeMachine: boolean;
  /** Bytes the share's backups (its sparse bundles) may take, as Samba's `fruit:time machine max size`. */
  timeMachineMaxSize?: number;
}

/**
 * The configuration after validation and defaults. Durations are milliseconds, modes are
 * numbers, paths on the host are absolute. Key paths in problems use the file's snake_case
 * names (`nfs.mount_bind`), this type the camelCase ones (`nfs.mountBind`).
 */
export interface GatewayConfig {
  /** Absolute path of the file this came from. */
  configFile: string;
  /** Absolute; holds control.db, meta.db and data/ unless metadata/transport say otherwise. */
  stateDir: string;
  /** `heartbeatIntervalMs`: how often this node tells the control plane it is alive (node registry). */
  node: { name: string; heartbeatIntervalMs: number };
  logLevel: LogLevel;
  metadata: MetadataBackend;
  transport: TransportBackend;
  /**
   * `transport.direct_io` (a local data directory): writes of 4–8 MiB at aligned offsets go to
   * disk past the page cache (storage/data/direct-io.ts). Default false: through the page cache.
   */
  directIo: boolean;
  /**
   * `transport.inline_max`: a file created over NFS or SMB (or an S3 object whose declared size
   * fits) keeps its bytes in the metadata database while no larger than this (layout 2,
   * storage/sqlite/schema.ts). Default 16 KiB; 0 gives every file its own blob.
   */
  inlineMaxBytes: number;
  /** The `transport` section's object-store keys (see ObjectStoreSettings). */
  objectStore: ObjectStoreSettings;
  /**
   * The control plane's database: `control.url`; else the metadata PostgreSQL when there is one
   * (schema `cfs_control`), so every node of a cluster shares it; else `<stateDir>/control.db`.
   */
  control: ControlBackend;
  nfs: {
    enabled: boolean;
    bind: ListenAddress;
    mountBind: ListenAddress;
    exports: NfsExport[];
  };
  s3: {
    enabled: boolean;
    bind: ListenAddress;
    region: string;
    /** Each bucket is a top-level directory of this namespace path. */
    root: ServedDirectory;
    /** Enables virtual-hosted-style requests (`bucket.domain`); path-style always works. */
    domain?: string;
    /** Absolute paths of PEM files; absent means plain HTTP. */
    tls?: { cert: string; key: string };
    publicReadBuckets: string[];
    /** Web origins browsers may call S3 from (CORS); `*` for any. Empty: no CORS answers. */
    corsOrigins: string[];
    /** A multipart upload with no part for this long is aborted and its parts freed; 0: never. */
    staleUploadsExpiryMs: number;
    /** How often buckets' lifecycle rules are swept; 0: only when an operator asks. */
    lifecycleIntervalMs: number;
  };
  smb: {
    enabled: boolean;
    bind: ListenAddress;
    domain: string;
    workgroup: string;
    shares: SmbShare[];
    requireSigning: boolean;
    encryption: SmbEncryption;
    mapToGuest: SmbMapToGuest;
    /** How long a durable handle is kept after its connection drops, waiting for a reconnect. */
    durableHandleTimeoutMs: number;
    /**
     * How long a client has to acknowledge an oplock or lease break before its caching is taken;
     * what an NFS or S3 request waits at most for an SMB client that does not answer.
     */
    breakTimeoutMs: number;
    /** Bonjour: `_smb._tcp`, `_device-info._tcp` and Time Machine shares as `_adisk._tcp` (smb/mdns.ts). */
    mdns: boolean;
  };
  health: { bind: ListenAddress; probeIntervalMs: number };
  admin: { trustLoopback: boolean };
  limits: { maxConnections: number };
  circuitBreaker: { failureThreshold: number; resetTimeoutMs: number; slowCallMs: number };
  cache: { ttlMs: number; maxEntries: number };
  quota: { gracePeriodMs: number };
  /** Audit entries older than retentionMs are deleted (0: never). */
  audit: { retentionMs: number };
  identity: { groupsFromHost: boolean };
  durability: {
    /** sync: changes answered once on disk; async: once committed, on disk within flushIntervalMs. */
    metadata: MetadataDurability;
    flushIntervalMs: number;
    /** How long a flush waits for more commits to join it (0: it starts at once). */
    groupCommitMaxDelayMs: number;
  };
}
