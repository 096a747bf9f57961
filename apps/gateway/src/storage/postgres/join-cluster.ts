import { hostname } from 'node:os';
import pg from 'pg';
import { pgConnectionString } from '../../config/control-url.ts';
import type { S3DataStore } from '../data/s3-blobs.ts';
import type { OpenedNamespace, OpenNamespaceOptions } from '../open.ts';
import { BLOBS_PER_LOCK, underBlobLocks, underChunkLock, underMoveLock, underSizeLock } from './advisory.ts';
import { ClusterLocks } from './cluster-locks.ts';
import { ClusterOpens } from './cluster-opens.ts';
import { ClusterInvalidation } from './invalidation.ts';
import type { PgMetadataStore } from './store.ts';

/** Chunk rewrites a node holds locks for at once (more wait for a connection). */
const CHUNK_LOCK_CONNECTIONS = 8;
/** Moves out of inline and size locks a node holds at once (more wait for a connection). */
const FILE_LOCK_CONNECTIONS = 8;

/**
 * A namespace on PostgreSQL metadata joins the other gateway nodes on it: cache invalidations
 * published after each commit and received from the others, and byte-range locks and SMB opens
 * (share modes and caching) kept coherent across nodes, their messages carried by the
 * invalidations' listener. Loaded only for a PostgreSQL metadata URL (open.ts), like the `pg`
 * driver it needs.
 */
export async function joinCluster(
  ns: OpenedNamespace,
  meta: PgMetadataStore,
  o: OpenNamespaceOptions,
): Promise<void> {
  const onError = (e: Error) => o.onConnectionError?.(e);
  const node = o.nodeName ?? hostname();
  const locks = new ClusterLocks(meta.pool, node, ns.locks, (ino) => cluster.publishLocks(ino), onError);
  const opens = new ClusterOpens(
    meta.pool,
    node,
    locks.aliveKey,
    {
      changed: (ino) => cluster.publishOpens(ino),
      request: (r) => cluster.sendRecall({ q: [r] }),
      answer: (id) => cluster.sendRecall({ a: [id] }),
    },
    (ino, need) => ns.caching.recall(ino, need, 'local'),
    onError,
    o.breakTimeoutMs,
  );
  const cluster = new ClusterInvalidation(
    o.metadataUrl,
    meta.schema,
    meta.pool,
    (inodes, names) => {
      ns.invalidate(inodes, names);
      // Another node changed a file this node's clients cache: had that node not yet seen
      // them (a grant racing its change), their caching goes now.
      for (const ino of inodes ?? []) {
        if (opens.localHolds(ino).caching !== 0) ns.caching.recall(ino, 'write', 'local')?.catch(onError);
      }
    },
    o.onConnectionError,
  );
  ns.onCommitted = (fx) => cluster.publish(fx);
  ns.cluster = cluster;
  // Removing a file's last name asks the shared table whether other nodes' clients hold it.
  meta.openHolder = locks.aliveKey;
  cluster.locks = {
    alive: locks.aliveSql(),
    changed: (inodes) => {
      for (const ino of inodes) locks.refresh(ino).catch(onError);
    },
    reconnected: () => void locks.resync().catch(onError),
  };
  cluster.opens = {
    changed: (inodes) => {
      for (const ino of inodes) opens.refresh(ino).catch(onError);
    },
    requested: (requests) => opens.requested(requests),
    answered: (ids) => opens.answered(ids),
    reconnected: () => void opens.resync().catch(onError),
  };
  const lockPool = (max: number, name: string) => {
    const pool = new pg.Pool({
      connectionString: pgConnectionString(o.metadataUrl),
      max,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      application_name: name,
    });
    pool.on('error', onError);
    ns.lockPools.push(pool);
    return pool;
  };
  // A file moves out of inline on one node at a time (Namespace inlineMoveGuard), and its size
  // changes and trims wait for other nodes' writes between their bytes and their record
  // (clusterSizeGuard): locks held while bytes are stored, on connections of their own, which
  // neither metadata transactions nor the chunk locks taken meanwhile wait for. Neither lock
  // is taken while the other is held.
  const files = lockPool(FILE_LOCK_CONNECTIONS, 'claudefs-file-locks');
  ns.inlineMoveGuard = (ino, work) => underMoveLock(files, ino, work);
  ns.clusterSizeGuard = {
    shared: (ino, work) => underSizeLock(files, ino, 'shared', work),
    exclusive: (ino, work) => underSizeLock(files, ino, 'exclusive', work),
  };
  // Nodes sharing an object store rewrite a chunk one at a time, and none while another cuts
  // or removes its blob (s3-blobs.ts SharedStoreGuard), on connections of their own: a lock is
  // held for a chunk's GET and PUT, which metadata transactions must not queue behind.
  if (ns.data.kind === 's3') {
    const chunks = lockPool(CHUNK_LOCK_CONNECTIONS, 'claudefs-chunk-locks');
    (ns.data as S3DataStore).guard = {
      chunk: (blob, index, work) => underChunkLock(chunks, blob, index, work),
      blobs: (blobs, work) => underBlobLocks(chunks, blobs, work),
      maxBlobs: BLOBS_PER_LOCK,
    };
  }
  ns.locks.cluster = locks;
  ns.caching.register(opens);
  ns.caching.cluster = opens;
  opens.releasedElsewhere = (ino) => ns.releasedElsewhere(ino);
  cluster.peerStarted = () => ns.forgetTailChecks();
  await cluster.start();
  await locks.resync();
  await opens.resync();
  cluster.announceStart();
}
