import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTransportUrl } from '../config/backend-url.ts';
import type { GatewayConfig, ObjectStoreSettings } from '../config/types.ts';
import { ownerOnlyDatabase } from '../util/owner-only.ts';
import type { BreakerOptions } from './circuit-breaker.ts';
import type { DataStore } from './data/data-store.ts';
import { LocalBlobStore } from './data/local-blobs.ts';
import { LOOP_WRITE_WAITING_MS } from './data/loop-writes.ts';
import { DURABLE_ON_COMMIT, type DurabilityBarrier, WalBarrier } from './durability.ts';
import { type LedgerGate, OPEN_GATE } from './ledger-gate.ts';
import type { MetadataStore } from './meta/store.ts';
import { Namespace, type NamespaceOptions } from './namespace.ts';
import type { ClusterInvalidation } from './postgres/invalidation.ts';
import type { PgMetadataStore } from './postgres/store.ts';
import { Checkpointer } from './sqlite/checkpointer.ts';
import { markDatabase, refuseLostDatabase } from './sqlite/namespace-marker.ts';
import { SpaceReserve } from './sqlite/space-reserve.ts';
import { SqliteMetadataStore } from './sqlite/store.ts';

export interface OpenNamespaceOptions {
  /** `sqlite:///abs/path/meta.db` or `postgres://user@host/db[?schema=name]`. */
  metadataUrl: string;
  /** This gateway node's name (`node.name`), shown with its byte-range locks to the others. */
  nodeName?: string;
  /** Errors of idle PostgreSQL connections (logged by the gateway; the pool replaces them). */
  onConnectionError?: (err: Error) => void;
  /** `file:///abs/path/data` or `s3://bucket/prefix` (with `objectStore`). */
  transportUrl: string;
  /** How to reach the object store of an `s3://` transport (the config's transport keys). */
  objectStore?: ObjectStoreSettings;
  /** A file:// transport: large aligned writes past the page cache (`transport.direct_io`; default false). */
  directIo?: boolean;
  /** `transport.inline_max`: files up to this size keep their bytes inline (default: none do). */
  inlineMaxBytes?: number;
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
  /** The config's `durability` keys (default: sync, no group-commit delay). */
  durability?: GatewayConfig['durability'];
  /**
   * How long this node's SMB clients have to acknowledge a break (`smb.break_timeout`, read at
   * each use so a reload applies): a recall asked of another node waits that and 5 s more.
   */
  breakTimeoutMs?: () => number;
  gate?: LedgerGate;
  breaker?: BreakerOptions;
  onBreakerTransition?: NamespaceOptions['onBreakerTransition'];
  /** Recover queued deletions and abandoned uploads (the gateway does; read-only tools don't). */
  recover?: boolean;
  /**
   * Run WAL checkpoints on a worker thread (SQLite; the gateway does). A short-lived tool does
   * not: its checkpoint thread's own write, which starts the WAL over, would take SQLite's write
   * lock from a running gateway's writes, and the last connection to close checkpoints anyway.
   */
  checkpoints?: boolean;
  /** SQLite: room kept back for deletes on a full disk (sqlite/space-reserve.ts); default on. */
  spaceReserve?: boolean;
  /**
   * Tests only (fault injection, test/support/faults.ts): replaces the stores before the
   * namespace puts them behind their circuit breakers. No configuration key reaches it.
   */
  wrapStores?: (stores: NamespaceStores) => NamespaceStores;
}

/** The backends a namespace is built on. */
export interface NamespaceStores {
  meta: MetadataStore;
  data: DataStore;
  barrier: DurabilityBarrier;
}

export function sqlitePath(url: string): string {
  if (!url.startsWith('sqlite://')) throw new Error(`metadata url must be sqlite:///path (got ${url})`);
  const path = url.slice('sqlite://'.length);
  if (!path.startsWith('/')) throw new Error(`metadata url must name an absolute path (got ${url})`);
  return path;
}

export function filePath(url: string): string {
  if (!url.startsWith('file://')) throw new Error(`transport url must be file:///path (got ${url})`);
  return fileURLToPath(url);
}

export class OpenedNamespace extends Namespace {
  /** SQLite's WAL checkpoint thread (PostgreSQL checkpoints by itself). */
  checkpointer: Checkpointer | undefined;
  /** SQLite: the database's files other users could read, made owner-only at this open (logged). */
  madeOwnerOnly: string[] = [];
  /** PostgreSQL: cache invalidations to and from the other gateway nodes. */
  cluster: ClusterInvalidation | undefined;
  /** PostgreSQL: the connections file locks (moves, sizes) and chunk rewrites hold (join-cluster.ts). */
  readonly lockPools: Array<{ end(): Promise<void> }> = [];

  override async close(): Promise<void> {
    await this.checkpointer?.stop();
    await this.cluster?.close();
    // The data store's last uploads (super.close) still lock their chunks.
    await super.close();
    // Once: a second close finds none.
    await Promise.all(this.lockPools.splice(0).map((p) => p.end()));
  }
}

async function openMeta(o: OpenNamespaceOptions): Promise<{
  meta: MetadataStore;
  barrier: DurabilityBarrier;
  dbFile?: string;
  /** Files of the database others could read, made owner-only at this open. */
  loosened?: string[];
  postgres?: PgMetadataStore;
}> {
  const gate = o.gate ?? OPEN_GATE;
  if (/^postgres(ql)?:/.test(o.metadataUrl)) {
    // Loaded only here: the `pg` driver and its modules are not loaded on the embedded default.
    const { PgMetadataStore } = await import('./postgres/store.ts');
    const meta = await PgMetadataStore.open(
      { url: o.metadataUrl, onConnectionError: o.onConnectionError },
      gate,
    );
    return { meta, barrier: DURABLE_ON_COMMIT, postgres: meta };
  }
  const dbFile = sqlitePath(o.metadataUrl);
  mkdirSync(dirname(dbFile), { recursive: true });
  const created = !existsSync(dbFile);
  refuseLostDatabase(dbFile, o.transportUrl.startsWith('s3:') ? undefined : filePath(o.transportUrl));
  // Small files' bytes and every name live in it: the gateway's user alone reads it, as
  // control.db, whatever the folder's mode (an operator may have made it 0755).
  const loosened = ownerOnlyDatabase(dbFile);
  const meta = new SqliteMetadataStore(dbFile, gate);
  markDatabase(dbFile, created);
  // A write makes sure the WAL file exists before the barrier opens it.
  meta.setMeta('opened', String(Date.now()));
  const barrier = new WalBarrier(
    `${dbFile}-wal`,
    o.durability?.groupCommitMaxDelayMs ?? 0,
    () => meta.writes,
  );
  return { meta, barrier, dbFile, loosened };
}

async function openData(o: OpenNamespaceOptions): Promise<DataStore> {
  if (!o.transportUrl.startsWith('s3:')) {
    return LocalBlobStore.open(filePath(o.transportUrl), {
      directIo: o.directIo ?? false,
      ...(o.objectStore ? { cacheBytes: o.objectStore.cacheSize } : {}),
    });
  }
  const backend = parseTransportUrl(o.transportUrl);
  if (backend.kind !== 's3' || !o.objectStore)
    throw new Error('an s3:// transport needs its object-store settings');
  // Loaded only here, like the AWS SDK it uses.
  const { openS3DataStore } = await import('./data/s3-blobs.ts');
  return openS3DataStore(backend, o.objectStore);
}

export async function openNamespace(o: OpenNamespaceOptions): Promise<OpenedNamespace> {
  const data = await openData(o);
  let opened: Awaited<ReturnType<typeof openMeta>>;
  try {
    opened = await openMeta(o);
  } catch (e) {
    await data.close().catch(() => {});
    throw e;
  }
  const { meta, barrier, dbFile, loosened } = opened;
  const stores = o.wrapStores?.({ meta, data, barrier }) ?? { meta, data, barrier };
  const ns = new OpenedNamespace(stores.meta, stores.data, stores.barrier, {
    cacheTtlMs: o.cacheTtlMs ?? 1000,
    cacheMaxEntries: o.cacheMaxEntries ?? 100_000,
    ...(o.durability?.metadata === 'async' ? { deferMetadataFlushMs: o.durability.flushIntervalMs } : {}),
    inlineMaxBytes: o.inlineMaxBytes ?? 0,
    breaker: o.breaker,
    onBreakerTransition: o.onBreakerTransition,
  });
  if (data instanceof LocalBlobStore) {
    const transport = ns.breakers.transport;
    data.loopWrites.backendAnswers = () => transport.answering(LOOP_WRITE_WAITING_MS);
  }
  ns.madeOwnerOnly = loosened ?? [];
  if (dbFile && o.spaceReserve !== false) {
    const reserve = new SpaceReserve(dirname(dbFile));
    reserve.takeNow();
    ns.spaceReserve = reserve;
  }
  if (dbFile && meta instanceof SqliteMetadataStore && o.checkpoints !== false)
    ns.checkpointer = new Checkpointer(dbFile, () => meta.holdWrites());
  if (opened.postgres) {
    const { joinCluster } = await import('./postgres/join-cluster.ts');
    await joinCluster(ns, opened.postgres, o);
  }
  await barrier.sync();
  if (o.recover !== false) await ns.recover();
  return ns;
}
