import { isFsError } from '../../storage/errors.ts';
import { NO_HOLDS, type OpenHolds } from '../../storage/open-holds.ts';
import { OPLOCK_LEVEL_NONE } from './constants.ts';
import type { RequestContext, ServerEnv } from './context.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { CACHE } from './leases.ts';
import type { InodeOpens, Open } from './open-files.ts';
import { type CachingRequest, cachingOf, grantCaching } from './oplocks.ts';
import { DATA_ACCESS, shareCounts, violatesSharing } from './share-modes.ts';

/**
 * SMB opens with several gateway nodes on one PostgreSQL (storage/postgres/cluster-opens.ts):
 * what this node's clients hold of a file — caching and share modes — is recorded for the other
 * nodes, and an open here is decided against what theirs hold, as CTDB makes Samba's share
 * modes and oplocks cluster-wide.
 */

/**
 * What this node's opens hold of the file. Opens of its named streams hold no caching and keep
 * their share modes on this node (streams.ts).
 */
export function localHolds(inodes: InodeOpens, ino: bigint): OpenHolds {
  const opens = [...inodes.unnamedOpensOf(ino)];
  let caching = 0;
  for (const o of opens) caching |= cachingOf(o);
  return { caching, ...shareCounts(opens), deletePending: inodes.deletePending(ino) ? 1 : 0 };
}

/** Whether the file's delete is pending here or on another node (its opens are refused). */
export function deletePending(env: ServerEnv, ino: bigint): boolean {
  return env.inodes.deletePending(ino) || (env.ns.caching.cluster?.heldElsewhere(ino).deletePending ?? 0) > 0;
}

/**
 * A delete set pending (or cleared) through an open here is recorded before the SET_INFO is
 * answered, so that an open another node decides next meets it. Not recorded (the database
 * unreachable), the other nodes learn it when it is.
 */
export async function recordDeletePending(env: ServerEnv, ino: bigint): Promise<void> {
  await env.ns.caching.cluster
    ?.claim(ino, () => undefined)
    .catch((e: Error) =>
      env.log.warn({ err: e }, `SMB delete-pending not recorded for other nodes: ${e.message}`),
    );
}

/** A sharing violation with another node's opens; whether their clients cache handles. */
class SharingViolationElsewhere extends SmbError {
  constructor(readonly handleCached: boolean) {
    super(NT_STATUS.STATUS_SHARING_VIOLATION, 'sharing violation with an open on another node');
  }
}

/** Another node's client caches writes of the file, which this node had not yet seen. */
class WriteCachedElsewhere extends Error {}

/**
 * A claim (storage/open-holds.ts) whose decision first requires the other nodes' opens to allow
 * this access and share mode. Tried once more after asking them: refused beside their clients'
 * handle caching, that caching is recalled, as on one node (a client may hold a handle open only
 * because it caches it); refused otherwise, they record what they hold now (a close there may
 * not be recorded yet); beside their write caching (an announcement not yet seen here, so the
 * open's own recall missed it), that is recalled, unless the open touches no data (a stat open
 * breaks nothing). The second try takes what it finds.
 */
async function claimSharing<T>(
  env: ServerEnv,
  ino: bigint,
  access: number,
  share: number,
  decide: (others: OpenHolds) => T,
): Promise<T> {
  const cluster = env.ns.caching.cluster!;
  const claim = (first: boolean) =>
    cluster.claim(ino, (others) => {
      if (others.deletePending > 0)
        throw new SmbError(NT_STATUS.STATUS_DELETE_PENDING, 'delete pending on another node');
      if (violatesSharing(others, access, share))
        throw new SharingViolationElsewhere((others.caching & CACHE.HANDLE) !== 0);
      if (first && others.caching & CACHE.WRITE && access & DATA_ACCESS) throw new WriteCachedElsewhere();
      return decide(others);
    });
  try {
    return await claim(true);
  } catch (e) {
    if (e instanceof WriteCachedElsewhere) await env.ns.caching.recall(ino, 'read', 'remote');
    else if (!(e instanceof SharingViolationElsewhere)) throw e;
    else if (e.handleCached) await env.ns.caching.recall(ino, 'write', 'remote');
    else await cluster.settle(ino);
  }
  return claim(false);
}

/**
 * Decides a new open (already among the file's opens here) against the other nodes' holds and
 * records it: a sharing violation with their opens is STATUS_SHARING_VIOLATION (the caller
 * drops the open), and the caching granted sees theirs (`grantCaching`). Without other nodes,
 * or for an open that neither accesses data nor asks for caching, only `grantCaching`. When the
 * open cannot be recorded (the database unreachable), it proceeds caching nothing.
 */
export async function claimOpen(ctx: RequestContext, open: Open, req: CachingRequest): Promise<void> {
  const cluster = ctx.env.ns.caching.cluster;
  const asks = req.lease ? req.lease.state !== CACHE.NONE : req.oplock !== OPLOCK_LEVEL_NONE;
  if (!cluster || (!asks && (open.access & DATA_ACCESS) === 0)) {
    grantCaching(ctx, open, req);
    return;
  }
  let before: number | undefined;
  try {
    await claimSharing(ctx.env, open.ino, open.access, open.shareAccess, (others) => {
      before = req.lease ? (ctx.env.leases.get(ctx.conn.clientGuid, req.lease.key)?.state ?? CACHE.NONE) : 0;
      grantCaching(ctx, open, req, others.caching);
    });
  } catch (e) {
    // Refused, or the file's last name went through another node as it was opened here.
    if (e instanceof SmbError || isFsError(e, 'ENOENT')) throw e;
    ctx.env.log.warn(
      { err: e, path: open.path },
      `SMB open of ${open.path} not recorded: ${(e as Error).message}`,
    );
    if (before === undefined) grantCaching(ctx, open, req, CACHE.READ | CACHE.HANDLE | CACHE.WRITE);
    else if (open.lease) open.lease.state = before;
    else open.oplock = OPLOCK_LEVEL_NONE;
  }
}

/**
 * Before an open of an existing file truncates it (overwrite, supersede): whether the other
 * nodes' opens allow it, so that a refused open changes nothing (its own claim checks again).
 */
export async function checkSharingElsewhere(
  env: ServerEnv,
  ino: bigint,
  access: number,
  share: number,
): Promise<void> {
  if (!env.ns.caching.cluster || (access & DATA_ACCESS) === 0) return;
  await claimSharing(env, ino, access, share, () => undefined).catch((e: Error) => {
    if (e instanceof SmbError) throw e;
    env.log.warn({ err: e }, `SMB share modes of other nodes not checked: ${e.message}`);
  });
}

/**
 * With other nodes: what this node's clients hold is theirs to see (every change of a file's
 * opens or caching touches it). Returns what undoes it (the server's stop).
 */
export function joinOpenHolds(env: ServerEnv): () => void {
  const cluster = env.ns.caching.cluster;
  if (!cluster) return () => {};
  cluster.localHolds = (ino) => localHolds(env.inodes, ino);
  env.inodes.onTouch = (ino) => cluster.changed(ino);
  return () => {
    env.inodes.onTouch = undefined;
    cluster.localHolds = () => NO_HOLDS;
  };
}
