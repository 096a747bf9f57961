import { hostname } from 'node:os';
import type { OpenedNamespace, OpenNamespaceOptions } from '../open.ts';
import { ClusterLocks } from './cluster-locks.ts';
import { ClusterInvalidation } from './invalidation.ts';
import type { PgMetadataStore } from './store.ts';

/**
 * A namespace on PostgreSQL metadata joins the other gateway nodes on it: cache invalidations
 * published after each commit and received from the others, and byte-range locks kept
 * coherent across nodes. Loaded only for a PostgreSQL metadata URL (open.ts), like the `pg`
 * driver it needs.
 */
export async function joinCluster(
  ns: OpenedNamespace,
  meta: PgMetadataStore,
  o: OpenNamespaceOptions,
): Promise<void> {
  const cluster = new ClusterInvalidation(
    o.metadataUrl,
    meta.schema,
    meta.pool,
    (inodes, names) => ns.invalidate(inodes, names),
    o.onConnectionError,
  );
  ns.onCommitted = (fx) => cluster.publish(fx);
  ns.cluster = cluster;
  const onError = (e: Error) => o.onConnectionError?.(e);
  const locks = new ClusterLocks(
    meta.pool,
    o.nodeName ?? hostname(),
    ns.locks,
    (ino) => cluster.publishLocks(ino),
    onError,
  );
  cluster.locks = {
    alive: locks.aliveSql(),
    changed: (inodes) => {
      for (const ino of inodes) locks.refresh(ino).catch(onError);
    },
    reconnected: () => void locks.resync().catch(onError),
  };
  ns.locks.cluster = locks;
  await cluster.start();
  await locks.resync();
}
