import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BreakerOptions } from './circuit-breaker.ts';
import type { DataStore } from './data/data-store.ts';
import { LocalBlobStore } from './data/local-blobs.ts';
import { WalBarrier } from './durability.ts';
import { type LedgerGate, OPEN_GATE } from './ledger-gate.ts';
import { Namespace, type NamespaceOptions } from './namespace.ts';
import { Checkpointer } from './sqlite/checkpointer.ts';
import { SqliteMetadataStore } from './sqlite/store.ts';

export interface OpenNamespaceOptions {
  /** `sqlite:///abs/path/meta.db` (PostgreSQL arrives with the scale-out work). */
  metadataUrl: string;
  /** `file:///abs/path/data`. */
  transportUrl: string;
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
  gate?: LedgerGate;
  breaker?: BreakerOptions;
  onBreakerTransition?: NamespaceOptions['onBreakerTransition'];
  /** Recover queued deletions and abandoned uploads (the gateway does; read-only tools don't). */
  recover?: boolean;
  /**
   * Tests only (fault injection, test/support/faults.ts): replaces the stores before the
   * namespace puts them behind their circuit breakers. No configuration key reaches it.
   */
  wrapStores?: (stores: NamespaceStores) => NamespaceStores;
}

/** The backends a namespace is built on. */
export interface NamespaceStores {
  meta: SqliteMetadataStore;
  data: DataStore;
  barrier: WalBarrier;
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
  checkpointer!: Checkpointer;

  override async close(): Promise<void> {
    await this.checkpointer.stop();
    await super.close();
  }
}

export async function openNamespace(o: OpenNamespaceOptions): Promise<OpenedNamespace> {
  const dbFile = sqlitePath(o.metadataUrl);
  mkdirSync(dirname(dbFile), { recursive: true });
  const data = await LocalBlobStore.open(filePath(o.transportUrl));
  const meta = new SqliteMetadataStore(dbFile, o.gate ?? OPEN_GATE);
  // A write makes sure the WAL file exists before the barrier opens it.
  meta.setMeta('opened', String(Date.now()));
  const barrier = new WalBarrier(`${dbFile}-wal`);
  const stores = o.wrapStores?.({ meta, data, barrier }) ?? { meta, data, barrier };
  const ns = new OpenedNamespace(stores.meta, stores.data, stores.barrier, {
    cacheTtlMs: o.cacheTtlMs ?? 1000,
    cacheMaxEntries: o.cacheMaxEntries ?? 100_000,
    breaker: o.breaker,
    onBreakerTransition: o.onBreakerTransition,
  });
  ns.checkpointer = new Checkpointer(dbFile);
  await barrier.sync();
  if (o.recover !== false) await ns.recover();
  return ns;
}
