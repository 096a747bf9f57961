/**
 * Test-only fault injection for the namespace's backends, through the one seam the product
 * has for it (OpenNamespaceOptions.wrapStores / Gateway.wrapStores): the stores are wrapped
 * before the namespace puts them behind their circuit breakers, so an injected failure is
 * counted, classified and refused exactly as a real one would be.
 *
 *     const faults = new BackendFaults();
 *     gw.wrapStores = faults.wrap;
 *     await gw.start();
 *     faults.arm('transport', { errno: 'EIO' });   // every data-store call fails with EIO
 *     faults.clear('transport');
 */
import type { NamespaceStores } from '../../src/storage/open.ts';

export type FaultedBackend = 'metadata' | 'transport';

export interface Fault {
  /**
   * The failure thrown, as the real backend throws it: an errno code for the data store and
   * the WAL barrier ('EIO', 'ENOSPC', 'EROFS'), a SQLite code for the metadata store
   * ('SQLITE_IOERR_WRITE', 'SQLITE_FULL', 'SQLITE_NOTADB', …). Omitted: calls only slow down.
   */
  errno?: string;
  /** Which calls fail: every call (the backend is unreadable) or only those that change it. */
  calls?: 'all' | 'writes';
  /**
   * Added before each asynchronous call of the backend (data store, WAL barrier). The
   * metadata store is synchronous (better-sqlite3): its calls are never delayed.
   */
  delayMs?: number;
}

/** Members that never fail: shutdown, naming, the clock, and the blob listing (an async iterable, used by fsck). */
const PASS_THROUGH = new Set<PropertyKey>(['close', 'pathOf', 'constructor', 'now', 'listBlobs']);

/** Metadata-store methods that only read. Everything else it exposes changes the database. */
const METADATA_READS = new Set<PropertyKey>([
  'row',
  'getattr',
  'lookupIno',
  'lookupRow',
  'readdir',
  'readlink',
  'extents',
  'allExtents',
  'usage',
  'allUsage',
  'getXattr',
  'listXattrs',
  'listStreams',
  'pendingGc',
  'detached',
  'inodeCount',
  'getMeta',
  'precheckWrite',
  'inlineBytes',
]);
const DATA_READS = new Set<PropertyKey>(['read', 'readInto', 'physicalSize', 'capacity']);

const SQLITE_MESSAGES: Record<string, string> = {
  SQLITE_IOERR: 'disk I/O error',
  SQLITE_FULL: 'database or disk is full',
  SQLITE_NOTADB: 'file is not a database',
  SQLITE_CANTOPEN: 'unable to open database file',
  SQLITE_READONLY: 'attempt to write a readonly database',
};

const ERRNO: Record<string, number> = { EIO: -5, ENOSPC: -28, EROFS: -30, EACCES: -13 };

/** The error a real backend throws for `code`: better-sqlite3's SqliteError shape or a libuv errno error. */
export function backendError(code: string, syscall: string): Error {
  if (code.startsWith('SQLITE_')) {
    const base = Object.keys(SQLITE_MESSAGES).find((k) => code.startsWith(k));
    return Object.assign(new Error(base ? SQLITE_MESSAGES[base] : code), { code, name: 'SqliteError' });
  }
  return Object.assign(new Error(`${code}: injected fault, ${syscall}`), {
    code,
    errno: ERRNO[code] ?? -5,
    syscall,
  });
}

export class BackendFaults {
  private readonly faults = new Map<FaultedBackend, Fault>();
  /** Calls that failed or were delayed because of an armed fault, per backend. */
  readonly injected: Record<FaultedBackend, number> = { metadata: 0, transport: 0 };
  /** The same, per method: `transport write`, `transport probe`, `metadata createFile`, … */
  readonly injectedBy = new Map<string, number>();

  arm(backend: FaultedBackend, fault: Fault): void {
    this.faults.set(backend, fault);
  }

  clear(backend?: FaultedBackend): void {
    if (backend) this.faults.delete(backend);
    else this.faults.clear();
  }

  armed(backend: FaultedBackend): Fault | undefined {
    return this.faults.get(backend);
  }

  /** For Gateway.wrapStores (and OpenNamespaceOptions.wrapStores). */
  readonly wrap = (stores: NamespaceStores): NamespaceStores => ({
    meta: this.proxy(stores.meta, 'metadata', METADATA_READS, false),
    data: this.proxy(stores.data, 'transport', DATA_READS, true),
    // The WAL flush is the metadata backend's durability: it fails and slows with it.
    barrier: this.proxy(stores.barrier, 'metadata', new Set(), true),
  });

  private count(backend: FaultedBackend, prop: PropertyKey): void {
    this.injected[backend]++;
    const key = `${backend} ${String(prop)}`;
    this.injectedBy.set(key, (this.injectedBy.get(key) ?? 0) + 1);
  }

  private proxy<T extends object>(
    target: T,
    backend: FaultedBackend,
    reads: ReadonlySet<PropertyKey>,
    async: boolean,
  ): T {
    const wrapped = new Map<PropertyKey, unknown>();
    return new Proxy(target, {
      get: (t, prop, receiver) => {
        const value = Reflect.get(t, prop, receiver);
        if (typeof value !== 'function' || PASS_THROUGH.has(prop)) return value;
        let fn = wrapped.get(prop);
        if (!fn) {
          const method = value as (...a: unknown[]) => unknown;
          const applies = (f: Fault) => f.calls !== 'writes' || !reads.has(prop);
          fn = async
            ? async (...args: unknown[]) => {
                const f = this.faults.get(backend);
                if (f && applies(f)) {
                  this.count(backend, prop);
                  if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
                  if (f.errno) throw backendError(f.errno, String(prop));
                }
                return method.apply(t, args);
              }
            : (...args: unknown[]) => {
                const f = this.faults.get(backend);
                if (f?.errno && applies(f)) {
                  this.count(backend, prop);
                  throw backendError(f.errno, String(prop));
                }
                return method.apply(t, args);
              };
          wrapped.set(prop, fn);
        }
        return fn;
      },
    });
  }
}
