import type { Gateway } from '../../daemon/gateway.ts';
import { isFsError } from '../../storage/errors.ts';
import { ROOT } from '../../storage/types.ts';
import type { AdminResult } from './routes.ts';

interface InvalidateBody {
  path?: unknown;
  uid?: unknown;
}

function hitRatio(gw: Gateway): number | null {
  const hits = gw.ns.nodes.hits + gw.ns.entries.hits;
  const total = hits + gw.ns.nodes.misses + gw.ns.entries.misses;
  return total === 0 ? null : hits / total;
}

/**
 * `POST /admin/cache/invalidate` with no body (everything), `{path}` or `{uid}`. With the
 * attributes and names go the file bytes held for the same files (Namespace.dropFileData):
 * what clients read next comes from the store, as the runbook's Data Inconsistency step says.
 */
export async function invalidateCaches(gw: Gateway, body: unknown): Promise<AdminResult> {
  const b = (body ?? {}) as InvalidateBody;
  if (typeof body !== 'undefined' && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    return {
      status: 400,
      body: { error: 'body must be a JSON object: {} | {"path": "/export/…"} | {"uid": 1000}' },
    };
  }
  const before = hitRatio(gw);
  const { nodes, entries } = gw.ns;
  let scope: string;
  let attributes: number;
  let names: number;
  let fileData: number;
  if (b.path !== undefined) {
    if (typeof b.path !== 'string' || !b.path.startsWith('/')) {
      return { status: 400, body: { error: '"path" must be an absolute namespace path' } };
    }
    try {
      ({ attributes, names } = await gw.ns.invalidatePath(ROOT, b.path));
      // The names on the path were just read afresh: this is the inode they name now.
      fileData = await gw.ns.dropFileData([(await gw.ns.resolvePath(ROOT, b.path)).ino]);
    } catch (e) {
      if (isFsError(e, 'ENOENT')) return { status: 404, body: { error: `no such path: ${b.path}` } };
      throw e;
    }
    scope = `path ${b.path}`;
  } else if (b.uid !== undefined) {
    if (typeof b.uid !== 'number' || !Number.isInteger(b.uid) || b.uid < 0) {
      return { status: 400, body: { error: '"uid" must be a non-negative integer' } };
    }
    const uid = b.uid;
    const owned = new Set<bigint>();
    attributes = nodes.invalidate((k, v) => {
      if (v.attrs.uid !== uid) return false;
      owned.add(k);
      return true;
    });
    names = entries.invalidate((_k, v) => owned.has(v));
    fileData = await gw.ns.dropFileDataOf(uid);
    scope = `uid ${uid}`;
  } else {
    attributes = nodes.invalidate();
    names = entries.invalidate();
    fileData = await gw.ns.dropFileData();
    scope = 'all';
  }
  gw.log.info({ scope, attributes, entries: names, fileData }, `cache invalidated (${scope})`);
  return {
    body: {
      scope,
      at: Date.now(),
      // fileData: files and blobs whose bytes were held in memory.
      dropped: { attributes, entries: names, fileData, total: attributes + names + fileData },
      hitRatioBefore: before,
      hitRatioAfter: hitRatio(gw),
    },
  };
}

export function circuits(gw: Gateway): AdminResult {
  return { body: { circuits: Object.values(gw.ns.breakers).map((b) => b.snapshot()) } };
}

export function resetCircuit(gw: Gateway, backend: string | undefined): AdminResult {
  if (backend !== 'metadata' && backend !== 'transport') {
    return { status: 404, body: { error: `no circuit '${backend}': use metadata or transport` } };
  }
  gw.ns.breakers[backend].reset();
  return { body: gw.ns.breakers[backend].snapshot() };
}

export function connections(gw: Gateway): AdminResult {
  const list = gw.connections.list();
  return {
    body: {
      total: list.length,
      max: gw.connections.maxConnections,
      inFlight: gw.connections.inFlight(),
      refused: Object.fromEntries(gw.connections.refusedBy),
      connections: list,
    },
  };
}
