import type { BackendName, BreakerState, ProtocolName } from './metrics.ts';

/** One client connection, across protocols. */
export interface ConnectionView {
  id: number;
  protocol: ProtocolName;
  remoteAddress: string;
  remotePort: number;
  localPort: number;
  /** Authenticated identity, as far as the protocol has established it. */
  user?: string;
  uid?: number;
  gid?: number;
  keyId?: string;
  /** ms since the epoch. */
  startedAt: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  inFlight: number;
  currentOp?: string;
  /** Protocol details (SMB dialect, signing, NFS auth flavour…). */
  details: Record<string, string | number | boolean>;
}

export interface ConnectionsReport {
  total: number;
  /** limits.max_connections, shared by every protocol. */
  max: number;
  inFlight: number;
  /** Connections refused at the limit since start, by protocol. */
  refused: Record<string, number>;
  connections: ConnectionView[];
}

/** An SMB client's open file, with the oplock or lease it holds (`./cfs smb status`). */
export interface SmbOpenFileView {
  /** `0x…`, or `disconnected (durable)`: with `fileId`, what `closeSmbFile` takes. */
  session: string;
  fileId: string;
  /** `alice@10.0.0.5:50122`; `disconnected (durable)` for an open waiting for its client. */
  client: string;
  share: string;
  /** `share\\path` as the client named it. */
  path: string;
  kind: string;
  /** What the client may cache: `batch`, `level II`, `lease RWH`, `lease RH, breaking to R`, `none`. */
  caching: string;
  /** ISO time the file was opened. */
  since: string;
}

/**
 * With several nodes on one PostgreSQL: what another node's SMB clients hold of a file — their
 * caching and their opens with data access, for share modes (`./cfs smb status`).
 */
export interface SmbHeldElsewhereView {
  node: string;
  /** `share\\path` when a client of this node has the file open too; else only `ino`. */
  path: string | null;
  ino: string;
  /** Lease letters: `RWH`, `RH`, `R`, or `none`. */
  caching: string;
  readers: number;
  writers: number;
  deleters: number;
  /** What some of those opens do not share (`READ,WRITE`; `` when they share everything). */
  denies: string;
}

export interface SmbOpenFilesReport {
  /** False when this gateway serves no SMB. */
  served: boolean;
  files: SmbOpenFileView[];
  /** Files other nodes' SMB clients hold (cluster mode; empty otherwise). */
  elsewhere: SmbHeldElsewhereView[];
}

/**
 * One byte-range lock of the gateway's one lock table: NFS clients' (NLM) and SMB clients'
 * (`./cfs locks`).
 */
export interface LockView {
  protocol: 'nfs' | 'smb';
  /**
   * Who holds it: an NFS client's host name as its lock manager gives it (what `releaseLocks`
   * takes); an SMB client as `alice@10.0.0.5:50122`.
   */
  holder: string;
  /** The file as an SMB client opened it (`share\\path`); null when only its inode is known. */
  path: string | null;
  ino: string;
  offset: string;
  /** The byte count (`0`: an SMB zero-length lock, on the position `offset`), or `to end`. */
  length: string;
  exclusive: boolean;
  /** ISO time the lock was taken. */
  since: string;
  /** Held through another gateway node of the cluster (its name): release it there. */
  node?: string;
}

export interface LocksReport {
  /** This node's locks, then those held through the cluster's other nodes. */
  locks: LockView[];
  /** NFS lock requests waiting for a conflicting lock to go (NLM blocked locks). */
  waiting: number;
}

/** An SMB open closed by an operator. */
export interface SmbFileClosed {
  session: string;
  fileId: string;
  /** `share\\path`. */
  path: string;
}

/** An SMB session ended by an operator, or because its account was disabled or removed. */
export interface SmbSessionEnded {
  /** `0x…`, as `./cfs smb status` lists it. */
  session: string;
  user: string;
  /** `address:port` of the client. */
  remote: string;
  /** Files it had open (pipes aside), closed with it. */
  openFiles: number;
}

/** What releasing an NFS client's locks did. */
export interface LocksRelease {
  client: string;
  released: number;
}

/** One socket the gateway listens on. */
export interface ListenerView {
  /** As the gateway names it when it starts: `NFS`, `MOUNT`, `S3 (https)`, `SMB`, `health`. */
  name: string;
  /** The protocol it serves; `ops` is the HTTP listener for health, metrics, admin and tRPC. */
  protocol: ProtocolName | 'ops';
  /** The host:port it is bound to, e.g. `0.0.0.0:9000`. */
  address: string;
  /** `draining`: refusing new connections while the gateway drains (the ops listener never does). */
  state: 'accepting' | 'draining';
}

export interface CircuitView {
  backend: BackendName;
  state: BreakerState;
  consecutiveFailures: number;
  totalFailures: number;
  lastError?: { message: string; at: number };
  openedAt?: number;
  /** When an open circuit lets the next trial call through (ms since the epoch). */
  nextProbeAt?: number;
}

export interface CircuitsReport {
  circuits: CircuitView[];
}

/** What to drop from the attribute and name caches: everything, one path's inode, or one owner's. */
export type CacheScope = { scope: 'all' } | { scope: 'path'; path: string } | { scope: 'uid'; uid: number };

export interface CacheInvalidation {
  /** `all`, `path /export/x`, `uid 1000`. */
  scope: string;
  /** `fileData`: files and blobs whose bytes were held in memory (inline files, small files, object-store chunks). */
  dropped: { attributes: number; entries: number; fileData: number; total: number };
  /** When the caches were dropped (ms since the epoch, the gateway's clock): later metrics samples show the refill. */
  at: number;
  /** Both caches together, since start; null before any lookup. */
  hitRatioBefore: number | null;
  hitRatioAfter: number | null;
}

export type DrainState = 'serving' | 'draining' | 'drained';

export interface DrainStatus {
  state: DrainState;
  draining: boolean;
  /** Draining, and no request in flight for `quietMs`; idle connections may remain. */
  drained: boolean;
  /** When the drain began (ISO 8601); null while serving. */
  since: string | null;
  /** How long nothing has been in flight, counted from the drain's start at the earliest. */
  quietForMs: number;
  quietMs: number;
  connections: number;
  inFlight: number;
  protocols: Partial<Record<ProtocolName, { connections: number; inFlight: number }>>;
}

/** One setting that differs between the running configuration and the file (a reload's report). */
export interface SettingChange {
  /** The file's key path: `cache.ttl`, `nfs.exports.1.access`, `smb.shares.0`. */
  setting: string;
  from: string;
  to: string;
  /** Why the change does less than its value says. */
  note?: string;
}

/** A reload the gateway carried out: what applies now, what waits for a restart. */
export interface ConfigReload {
  at: string;
  applied: SettingChange[];
  pendingRestart: SettingChange[];
}

/** What a reload would do now (`config.preview`): its changes, or the file's problems. */
export type ConfigPreview =
  | {
      ok: true;
      applied: SettingChange[];
      pendingRestart: SettingChange[];
      /** Settings the file changes that a flag given at start overrides: `from` the file's, `to` the flag's, which stays. */
      overridden?: SettingChange[];
    }
  | { ok: false; problems: string[] };

/** The configuration a gateway runs, and its last reload (`GET /admin/config`). */
export interface ConfigStatus {
  file: string;
  /** The state folder it serves (`./cfs` checks it is the one its file names). */
  stateDir: string;
  pid: number;
  logLevel: string;
  /** Null until the first reload since start; `problems` when the file was refused. */
  lastReload: (ConfigReload & { problems?: string[] }) | null;
}
