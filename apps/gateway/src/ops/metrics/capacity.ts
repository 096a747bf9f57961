import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Gateway } from '../../daemon/gateway.ts';
import type { Backend } from '../../storage/circuit-breaker.ts';
import { sqlitePath } from '../../storage/open.ts';
import { loopTimeout } from '../../util/loop-stalls.ts';

/** At most this long for a file system's figures: a disk that does not answer leaves its samples out. */
const CAPACITY_WAIT_MS = 1000;

interface Capacity {
  totalBytes: bigint;
  availBytes: bigint;
}

/**
 * `gateway_backend_capacity_bytes`: the size of the file system under each backend and the room
 * left on it to an unprivileged writer (`df`'s Size and Avail; a gateway running as root may
 * also take the file system's reserve) — so that an operator alerts before a disk is full.
 * The metadata backend's on SQLite (meta.db's folder), the data store's on a local folder; an
 * object store or PostgreSQL reports none. A backend whose circuit is not closed, or whose
 * file system does not answer within a second (or has not answered a previous scrape), is
 * left out of that scrape.
 */
export async function backendCapacity(gw: Gateway): Promise<Array<[Record<string, string>, number]>> {
  const figures = await Promise.all([
    measured(gw, 'metadata', () => metadataCapacity(gw.config.metadata.url)),
    measured(gw, 'transport', () => (gw.ns.data.kind === 'file' ? gw.ns.data.capacity() : undefined)),
  ]);
  return figures.flatMap((f) =>
    f === undefined
      ? []
      : [
          [{ backend: f.backend, kind: 'total' }, Number(f.c.totalBytes)],
          [{ backend: f.backend, kind: 'available' }, Number(f.c.availBytes)],
        ],
  );
}

/** Reads not answered yet, per gateway and backend: no second one joins one on a disk that hangs (each holds a pool thread). */
const unansweredOf = new WeakMap<Gateway, Set<Backend>>();

async function measured(
  gw: Gateway,
  backend: Backend,
  read: () => Promise<Capacity> | undefined,
): Promise<{ backend: Backend; c: Capacity } | undefined> {
  const waiting = unansweredOf.get(gw) ?? new Set<Backend>();
  unansweredOf.set(gw, waiting);
  if (gw.ns.breakers[backend].state !== 'closed' || waiting.has(backend)) return undefined;
  const pending = read();
  if (!pending) return undefined;
  waiting.add(backend);
  pending.then(
    () => waiting.delete(backend),
    () => waiting.delete(backend),
  );
  let cancel = () => {};
  const late = new Promise<undefined>((resolve) => {
    cancel = loopTimeout(CAPACITY_WAIT_MS, () => resolve(undefined), { unref: true });
  });
  try {
    const c = await Promise.race([pending, late]);
    return c && { backend, c };
  } catch {
    return undefined;
  } finally {
    cancel();
  }
}

function metadataCapacity(url: string): Promise<Capacity> | undefined {
  if (!url.startsWith('sqlite://')) return undefined;
  return statfs(dirname(sqlitePath(url)), { bigint: true }).then((s) => ({
    totalBytes: s.blocks * s.bsize,
    availBytes: s.bavail * s.bsize,
  }));
}
