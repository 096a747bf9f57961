import { hostname } from 'node:os';
import pg from 'pg';
import { pgConnectionString } from '../../config/control-url.ts';
import type { S3DataStore } from '../data/s3-blobs.ts';
import type { OpenedNamespace, OpenNamespaceOptions } from '../open.ts';
import { underChunkLock } from './advisory.ts';
import { ClusterLocks } from './cluster-locks.ts';
import { ClusterOpens } from './cluster-opens.ts';
import { ClusterInvalidation } from './invalidation.ts';
import type { PgMetadataStore } from './store.ts';

/** Chunk rewrites a node holds locks for at once (more wait for a connection). */
const CHUNK_LOCK_CONNECTIONS = 8;

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
  // Nodes sharing an object store rewrite a chunk one at a time (s3-blobs.ts chunkGuard), on
  // connections of their own: a lock is held for a chunk's GET and PUT, which metadata
  // transactions must not queue behind.
  if (ns.data.kind === 's3') {
    const lockPool = new pg.Pool({
      connectionString: pgConnectionString(o.metadataUrl),
      max: CHUNK_LOCK_CONNECTIONS,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      application_name: 'claudefs-chunk-locks',
    });
    lockPool.on('error', onError);
    (ns.data as S3DataStore).chunkGuard = (blob, index, work) => underChunkLock(lockPool, blob, index, work);
    ns.chunkLocks = lockPool;
  }
  ns.locks.cluster = locks;
  ns.caching.register(opens);
  ns.caching.cluster = opens;
  await cluster.start();
  await locks.resync();
  await opens.resync();
}
