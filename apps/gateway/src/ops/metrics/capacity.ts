import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Gateway } from '../../daemon/gateway.ts';
import type { Backend } from '../../storage/circuit-breaker.ts';
import { loopTimeout } from '../../util/loop-stalls.ts';

/** At most this long for a file system's figures: a disk that does not answer leaves its samples out. */
const CAPACITY_WAIT_MS = 1000;

export interface Capacity {
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
  const figures = await Promise.all([backendRoom(gw, 'metadata'), backendRoom(gw, 'transport')]);
  return figures.flatMap((f) =>
    f?.room === undefined
      ? []
      : [
          [{ backend: f.backend, kind: 'total' }, Number(f.room.totalBytes)],
          [{ backend: f.backend, kind: 'available' }, Number(f.room.availBytes)],
        ],
  );
}

/**
 * A backend's file system here: the folder it is read at, and its figures — or, when they did
 * not come, why (`problem`): the circuit not closed (unless `evenWhenOpen`), no answer within a
 * second, a read still unanswered, an error. Undefined for a backend on no local file system
 * (PostgreSQL, an object store).
 */
export async function backendRoom(
  gw: Gateway,
  backend: Backend,
  o: { evenWhenOpen?: boolean } = {},
): Promise<{ backend: Backend; folder: string; room?: Capacity; problem?: string } | undefined> {
  const { metadata, transport } = gw.config;
  const at =
    backend === 'metadata'
      ? metadata.kind === 'sqlite'
        ? { folder: dirname(metadata.path), read: () => roomAt(dirname(metadata.path)) }
        : undefined
      : transport.kind === 'file' && gw.ns.data.kind === 'file'
        ? { folder: transport.path, read: () => gw.ns.data.capacity() }
        : undefined;
  if (!at) return undefined;
  const m = await measured(gw, backend, at.read, o.evenWhenOpen === true);
  return { backend, folder: at.folder, ...(typeof m === 'string' ? { problem: m } : { room: m }) };
}

/** Reads not answered yet, per gateway and backend: no second one joins one on a disk that hangs (each holds a pool thread). */
const unansweredOf = new WeakMap<Gateway, Set<Backend>>();

async function measured(
  gw: Gateway,
  backend: Backend,
  read: () => Promise<Capacity>,
  evenWhenOpen: boolean,
): Promise<Capacity | string> {
  const waiting = unansweredOf.get(gw) ?? new Set<Backend>();
  unansweredOf.set(gw, waiting);
  if (!evenWhenOpen && gw.ns.breakers[backend].state !== 'closed') return 'its circuit is not closed';
  if (waiting.has(backend)) return 'an earlier read of its file system has not been answered';
  const pending = read();
  waiting.add(backend);
  pending.then(
    () => waiting.delete(backend),
    () => waiting.delete(backend),
  );
  let cancel = () => {};
  const late = new Promise<string>((resolve) => {
    cancel = loopTimeout(CAPACITY_WAIT_MS, () => resolve('its file system did not answer within a second'), {
      unref: true,
    });
  });
  try {
    return await Promise.race([pending, late]);
  } catch (e) {
    return (e as Error).message;
  } finally {
    cancel();
  }
}

function roomAt(folder: string): Promise<Capacity> {
  return statfs(folder, { bigint: true }).then((s) => ({
    totalBytes: s.blocks * s.bsize,
    availBytes: s.bavail * s.bsize,
  }));
}
