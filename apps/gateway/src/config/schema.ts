import { z } from 'zod';
import { parseDuration, UnitError } from '../util/units.ts';
import { parseClientMatch, parseListenAddress } from './address.ts';
import { parseMetadataUrl, parseTransportUrl } from './backend-url.ts';
import { parseControlUrl } from './control-url.ts';
import {
  DEFAULTS,
  LOG_LEVELS,
  METADATA_DURABILITY,
  SMB_ENCRYPTION,
  SMB_MAP_TO_GUEST,
  SMB_SHARE_ENCRYPTION,
} from './defaults.ts';
import { InvalidValue } from './invalid-value.ts';
import { parseMode } from './mode.ts';
import {
  parseBucketName,
  parseCorsOrigin,
  parseGroupName,
  parseHostName,
  parseNetbiosName,
  parseNodeName,
  parseRegion,
  parseShareName,
} from './names.ts';
import { parseNamespacePath } from './namespace-path.ts';
import {
  OBJECT_STORE_DEFAULTS,
  parseAccessKeyId,
  parseByteCount,
  parseChunkSize,
  parseInlineMax,
  parseStoreEndpoint,
} from './object-store.ts';

/**
 * The file as written: snake_case keys, strict maps (an unknown key is an error, never
 * silently ignored), values parsed into their typed form. resolve.ts turns the output into a
 * GatewayConfig once paths that depend on the file's location are known.
 */

/** How a value reads in a message: `'abc'`, `5`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/**
 * A scalar parsed by `parse`, whose InvalidValue/UnitError message is the operator's message.
 * An absent value is a missing key; anything but text or a number is a type error.
 */
function parsedScalar<T>(expected: string, parse: (value: string | number) => T) {
  return z.unknown().transform((value, ctx): T => {
    if (value === undefined) {
      ctx.addIssue({ code: 'invalid_type', expected: 'string', input: value });
      return z.NEVER;
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${expected}, got ${describeValue(value)}`,
        input: value,
      });
      return z.NEVER;
    }
    try {
      return parse(value);
    } catch (e) {
      if (!(e instanceof InvalidValue || e instanceof UnitError)) throw e;
      ctx.addIssue({ code: 'custom', message: e.message, input: value });
      return z.NEVER;
    }
  });
}

/** Numbers are read as their text, so `bind: 2049` gets the parser's advice ("no host"). */
function parsedText<T>(expected: string, parse: (text: string) => T) {
  return parsedScalar(expected, (value) => parse(String(value)));
}

const address = (fallback: string) => parsedText('host:port', parseListenAddress).prefault(fallback);
const duration = (fallback: string) => parsedText('a duration like 10s', parseDuration).prefault(fallback);
const interval = (fallback: string) =>
  duration(fallback).refine((ms) => ms > 0, { message: 'must be longer than 0ms' });
const size = (fallback: string) => parsedText('a size like 256MiB', parseByteCount).prefault(fallback);
const namespacePath = parsedText('an absolute path like /export', parseNamespacePath);
const mode = parsedScalar('octal mode bits like 1777', parseMode).prefault(DEFAULTS.directoryMode);
const id = z.number().int().min(0).max(0xffff_ffff);
const count = z.number().int().min(1);

/** A YAML key with nothing under it (`nfs:`) reads as null; treat it like an absent section. */
function section<Shape extends z.ZodRawShape>(shape: Shape) {
  const map = z.strictObject(shape);
  return z.preprocess((v) => (v === null ? undefined : v), map.prefault({} as z.input<typeof map>));
}

const nfsExport = z.strictObject({
  path: namespacePath,
  clients: z
    .array(parsedText('a network or host name', parseClientMatch))
    .min(1)
    .prefault([...DEFAULTS.exportClients]),
  access: z.enum(['rw', 'ro']).default('rw'),
  squash: z.enum(['root', 'all', 'none']).default('root'),
  // exports(5) `secure`: calls only from ports below 1024 (root on the client).
  secure: z.boolean().default(false),
  anon_uid: id.default(DEFAULTS.anonId),
  anon_gid: id.default(DEFAULTS.anonId),
  mode,
  owner_uid: id.default(DEFAULTS.ownerId),
  owner_gid: id.default(DEFAULTS.ownerId),
});

const smbShare = z.strictObject({
  name: parsedText('a share name', parseShareName),
  path: namespacePath,
  valid_groups: z.array(parsedText('a group name', parseGroupName)).default([]),
  read_only: z.boolean().default(false),
  // Absent: the server's smb.encryption.
  encryption: z.enum(SMB_SHARE_ENCRYPTION).optional(),
  // Guest sessions (smb.map_to_guest: bad_user) may connect.
  guest_ok: z.boolean().default(false),
  // Client addresses that may connect, as nfs.exports' clients (empty: any).
  hosts_allow: z.array(parsedText('a network or host name', parseClientMatch)).default([]),
  mode,
  owner_uid: id.default(DEFAULTS.ownerId),
  owner_gid: id.default(DEFAULTS.ownerId),
  // Apple's SMB2 extensions for macOS clients (Samba's vfs_fruit): see protocols/smb/apple/.
  apple_extensions: z.boolean().default(false),
  // With apple_extensions: AppleDouble `._name` files become name's streams (apple/appledouble.ts).
  convert_appledouble: z.boolean().default(true),
  // A Time Machine destination (needs apple_extensions), and the most its backups may take.
  time_machine: z.boolean().default(false),
  time_machine_max_size: parsedText('a size like 2TiB', parseByteCount).optional(),
});

export const configFileSchema = z.strictObject({
  node: section({
    name: parsedText('a node name', parseNodeName).optional(),
    state_dir: z.string().min(1).default(DEFAULTS.stateDir),
    heartbeat_interval: interval(DEFAULTS.heartbeatInterval),
  }),
  log_level: z.enum(LOG_LEVELS).default(DEFAULTS.logLevel),
  metadata: section({ url: parsedText('a database URL', parseMetadataUrl).optional() }),
  transport: section({
    url: parsedText('a data store URL', parseTransportUrl).optional(),
    // A file:// (local) data directory: large aligned writes past the page cache.
    direct_io: z.boolean().default(false),
    // Files up to this size keep their bytes in the metadata database (0: none do).
    inline_max: parsedText('a size like 16KiB', parseInlineMax).prefault(OBJECT_STORE_DEFAULTS.inlineMax),
    // The keys below are for an s3:// url (see object-store.ts).
    endpoint: parsedText('an http(s) URL', parseStoreEndpoint).optional(),
    region: parsedText('a region name', parseRegion).prefault(OBJECT_STORE_DEFAULTS.region),
    access_key_id: parsedText('an access key id', parseAccessKeyId).optional(),
    secret_access_key_file: z.string().min(1).optional(),
    force_path_style: z.boolean().optional(),
    chunk_size: parsedText('a size like 8MiB', parseChunkSize).prefault(OBJECT_STORE_DEFAULTS.chunkSize),
    cache_size: size(OBJECT_STORE_DEFAULTS.cacheSize),
    write_buffer_size: size(OBJECT_STORE_DEFAULTS.writeBufferSize),
    request_timeout: interval(OBJECT_STORE_DEFAULTS.requestTimeout),
  }),
  control: section({ url: parsedText('a database URL', parseControlUrl).optional() }),
  nfs: section({
    enabled: z.boolean().default(true),
    bind: address(DEFAULTS.nfsBind),
    mount_bind: address(DEFAULTS.mountBind),
    exports: z.array(nfsExport).prefault([{ path: DEFAULTS.exportPath }]),
  }),
  s3: section({
    enabled: z.boolean().default(true),
    bind: address(DEFAULTS.s3Bind),
    region: parsedText('a region name', parseRegion).prefault(DEFAULTS.region),
    root: namespacePath.prefault(DEFAULTS.exportPath),
    root_mode: mode,
    root_owner_uid: id.default(DEFAULTS.ownerId),
    root_owner_gid: id.default(DEFAULTS.ownerId),
    domain: parsedText('a DNS name', parseHostName).optional(),
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    public_read_buckets: z.array(parsedText('a bucket name', parseBucketName)).default([]),
    cors_origins: z.array(parsedText('an origin like https://app.example.com', parseCorsOrigin)).default([]),
    stale_uploads_expiry: duration(DEFAULTS.staleUploadsExpiry),
    lifecycle_interval: duration(DEFAULTS.lifecycleInterval),
  }),
  smb: section({
    enabled: z.boolean().default(true),
    bind: address(DEFAULTS.smbBind),
    domain: parsedText('a NetBIOS name', parseNetbiosName).prefault(DEFAULTS.netbiosName),
    workgroup: parsedText('a NetBIOS name', parseNetbiosName).prefault(DEFAULTS.netbiosName),
    shares: z.array(smbShare).prefault([{ name: DEFAULTS.shareName, path: DEFAULTS.exportPath }]),
    require_signing: z.boolean().default(false),
    encryption: z.enum(SMB_ENCRYPTION).default(DEFAULTS.smbEncryption),
    map_to_guest: z.enum(SMB_MAP_TO_GUEST).default(DEFAULTS.smbMapToGuest),
    durable_handle_timeout: interval(DEFAULTS.durableHandleTimeout),
    // NFS and S3 requests on a file a silent client caches wait this long: at most 5 minutes.
    break_timeout: interval(DEFAULTS.breakTimeout).refine((ms) => ms <= 300_000, {
      message: 'at most 5m: NFS and S3 requests wait this long for a client that does not answer',
    }),
    // Advertise the SMB service and Time Machine shares over multicast DNS (Bonjour), for Macs.
    mdns: z.boolean().default(false),
  }),
  health: section({ bind: address(DEFAULTS.healthBind), probe_interval: interval(DEFAULTS.probeInterval) }),
  admin: section({ trust_loopback: z.boolean().default(true) }),
  limits: section({ max_connections: count.default(DEFAULTS.maxConnections) }),
  circuit_breaker: section({
    failure_threshold: count.default(DEFAULTS.failureThreshold),
    reset_timeout: interval(DEFAULTS.resetTimeout),
    slow_call: interval(DEFAULTS.slowCall),
  }),
  cache: section({ ttl: duration(DEFAULTS.cacheTtl), max_entries: count.default(DEFAULTS.cacheMaxEntries) }),
  quota: section({ grace_period: duration(DEFAULTS.gracePeriod) }),
  audit: section({ retention: duration(DEFAULTS.auditRetention) }),
  identity: section({ groups_from_host: z.boolean().default(false) }),
  durability: section({
    metadata: z.enum(METADATA_DURABILITY).default(DEFAULTS.metadataDurability),
    flush_interval: interval(DEFAULTS.flushInterval),
    group_commit_max_delay: duration(DEFAULTS.groupCommitMaxDelay),
  }),
});

export type ConfigFile = z.output<typeof configFileSchema>;
