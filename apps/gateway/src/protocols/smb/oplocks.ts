import type { CachingHolder } from '../../storage/caching-recall.ts';
import { loopTimeout } from '../../util/loop-stalls.ts';
import { closeOpen } from './close-open.ts';
import {
  ACCESS,
  OPLOCK_LEVEL_BATCH,
  OPLOCK_LEVEL_EXCLUSIVE,
  OPLOCK_LEVEL_II,
  OPLOCK_LEVEL_LEASE,
  OPLOCK_LEVEL_NONE,
} from './constants.ts';
import type { ConnectionState, RequestContext, ServerEnv } from './context.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { CACHE, type Lease, type LeaseRequest, LeaseTable } from './leases.ts';
import type { Open } from './open-files.ts';

/**
 * Oplocks and leases (MS-SMB2 §3.3.1.4, §3.3.4.6–7, §3.3.5.22; MS-FSA §2.1.5.17), in one model:
 * an oplock is the lease its level stands for (BATCH = read + handle + write caching, EXCLUSIVE
 * = read + write, LEVEL_II = read), so one set of rules decides grants and breaks for both —
 * those Windows and Samba follow, which smbtorture's smb2.oplock and smb2.lease suites check.
 */

const { READ: R, HANDLE: H, WRITE: W } = CACHE;

/** The caching an open holds: its lease's state, or its oplock level's. */
export function cachingOf(open: Open): number {
  if (open.lease) return open.lease.state;
  return oplockCaching(open.oplock);
}

function oplockCaching(level: number): number {
  if (level === OPLOCK_LEVEL_BATCH) return R | W | H;
  if (level === OPLOCK_LEVEL_EXCLUSIVE) return R | W;
  if (level === OPLOCK_LEVEL_II) return R;
  return 0;
}

function oplockLevelFor(caching: number): number {
  if (caching === (R | W | H)) return OPLOCK_LEVEL_BATCH;
  if (caching === (R | W)) return OPLOCK_LEVEL_EXCLUSIVE;
  if (caching & R && !(caching & W)) return OPLOCK_LEVEL_II;
  return OPLOCK_LEVEL_NONE;
}

/** How `./cfs smb status` shows an open's caching, as smbstatus does: "batch", "lease RWH", … */
export function describeCaching(open: Open): string {
  const lease = open.lease;
  if (lease) {
    const breaking = lease.breaking ? `, breaking to ${leaseLetters(lease.breakToRequired)}` : '';
    return `lease ${leaseLetters(lease.state)}${breaking}`;
  }
  const name = OPLOCK_NAMES[open.oplock] ?? 'none';
  return open.oplockBreak ? `${name}, breaking to ${OPLOCK_NAMES[open.oplockBreak.to] ?? 'none'}` : name;
}

/** Lease state as Windows and Samba write it: "RWH", "RH", "R", or "none". */
export function leaseLetters(state: number): string {
  return `${state & R ? 'R' : ''}${state & W ? 'W' : ''}${state & H ? 'H' : ''}` || 'none';
}

const OPLOCK_NAMES: Record<number, string> = {
  [OPLOCK_LEVEL_BATCH]: 'batch',
  [OPLOCK_LEVEL_EXCLUSIVE]: 'exclusive',
  [OPLOCK_LEVEL_II]: 'level II',
};

const STAT_BITS = ACCESS.SYNCHRONIZE | ACCESS.FILE_READ_ATTRIBUTES | ACCESS.FILE_WRITE_ATTRIBUTES;

/** An open that reads and sets attributes only: it breaks no oplock. */
function isOplockStatOpen(access: number): boolean {
  return (access & STAT_BITS) !== 0 && (access & ~STAT_BITS) === 0;
}

/** The same for leases, which READ_CONTROL does not break either. */
function isLeaseStatOpen(access: number): boolean {
  const bits = STAT_BITS | ACCESS.READ_CONTROL;
  return (access & bits) !== 0 && (access & ~bits) === 0;
}

/** What a CREATE of an existing file contends with. */
export interface OpenAttempt {
  access: number;
  /** The lease the CREATE names (the client's own lease is never broken by its opens). */
  leaseId: string | undefined;
  willOverwrite: boolean;
  /** The share modes conflict: handle caching is broken so the holder may close its handle. */
  sharingViolation: boolean;
  /** The CREATE has not waited yet. */
  first: boolean;
}

/**
 * Before an open of an existing file proceeds: write caching held by others is broken (handle
 * caching when the share modes conflict, everything when the open overwrites), with breaks
 * sent at once; says whether the open must wait for an acknowledgment (`waitForBreaks`). A
 * holder whose connection is gone (a durable open waiting for its client) cannot answer: its
 * open is closed, and the CREATE looks at the file again once `closing` is done.
 */
export function contendForOpen(
  env: ServerEnv,
  ino: bigint,
  a: OpenAttempt,
): { delay: boolean; closing: Promise<void>[] } {
  const closing: Promise<void>[] = [];
  if (isOplockStatOpen(a.access)) return { delay: false, closing };
  const delayMask = a.sharingViolation ? H : W;
  let delay = false;
  for (const holder of env.inodes.opensOf(ino)) {
    const lease = holder.lease;
    if (lease && lease.id === a.leaseId) continue;
    if (lease && isLeaseStatOpen(a.access)) continue;
    const current = cachingOf(holder);
    const wasBreaking = lease?.breaking ?? false;
    let to = current & ~delayMask;
    if (a.willOverwrite) to &= ~(H | R);
    if ((current & ~to) === 0) {
      if (wasBreaking) delay = true;
      continue;
    }
    if (a.willOverwrite) to &= ~(R | W);
    if (!lease) to &= ~(H | W);
    if (holder.disconnected) {
      closing.push(closeOpen(env, holder));
      continue;
    }
    breakCaching(env, holder, to);
    if (current & delayMask) delay = true;
    if (wasBreaking && !a.first) delay = true;
  }
  return { delay, closing };
}

/**
 * Waits for the file's breaks to be acknowledged (or to time out, or its holders to close):
 * the CREATE goes async (an interim STATUS_PENDING) unless it is inside a compound.
 */
export async function waitForBreaks(ctx: RequestContext, ino: bigint): Promise<void> {
  try {
    ctx.goAsync();
  } catch {
    // Not the last request of a compound: it cannot go async, so it waits with no interim reply.
  }
  const changed = ctx.env.inodes.changed(ino);
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new SmbError(NT_STATUS.STATUS_CANCELLED, 'cancelled'));
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    void changed.then(() => {
      ctx.signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** What a new open asked to cache: an oplock level, or a lease. */
export type CachingRequest =
  | { oplock: number; lease?: undefined }
  | { oplock?: undefined; lease: LeaseRequest };

/**
 * The caching a new open gets (after `contendForOpen` found nothing to wait for): what it asked
 * for, less write caching when others have the file open (stat opens aside), less read caching
 * while byte-range locks are held on it, less handle caching beside opens without a lease, and
 * no oplock beside a handle lease. A lease asked for is always the answer, with whatever state
 * it has (a key already held on the file is upgraded when nothing stands in the way). Returns
 * the OplockLevel of the CREATE response.
 */
export function grantCaching(ctx: RequestContext, open: Open, req: CachingRequest, remote = 0): number {
  const { env } = ctx;
  const leaseId = req.lease ? LeaseTable.idOf(ctx.conn.clientGuid, req.lease.key) : undefined;
  let gotHandle = false;
  let gotOplock = false;
  let others = false;
  let anyOther = false;
  for (const o of env.inodes.opensOf(open.ino)) {
    if (o === open) continue;
    anyOther = true;
    // A stat open (attributes, security descriptor) caching nothing stands in no one's way.
    if (isLeaseStatOpen(o.access) && cachingOf(o) === 0) continue;
    if (cachingOf(o) & H) gotHandle = true;
    if (!o.lease) gotOplock = true;
    if (!o.lease || o.lease.id !== leaseId) others = true;
  }
  let granted = req.lease ? validLeaseState(req.lease.state) : oplockCaching(req.oplock);
  // A stat open gets an oplock only on a file nobody else has open.
  if (open.kind !== 'file' || (!req.lease && anyOther && isOplockStatOpen(open.access))) granted = 0;
  if (env.ns.locks.localLocks(open.ino).length > 0) granted &= ~R;
  if (others || remote !== 0) granted &= ~W;
  // Another node's client still caches writes (its recall unanswered): nothing is safe to cache.
  if (remote & W) granted = CACHE.NONE;
  if (!req.lease) {
    open.oplock = gotHandle ? OPLOCK_LEVEL_NONE : oplockLevelFor(granted);
    return open.oplock;
  }
  if (gotOplock) granted &= ~H;
  const found = env.leases.forOpen(ctx.conn.clientGuid, req.lease, open.ino);
  if (!found) return OPLOCK_LEVEL_NONE;
  const { lease, existing } = found;
  if (!existing) {
    lease.state = granted;
    lease.epoch = req.lease.epoch + 1;
  } else if (
    (lease.state & req.lease.state) === lease.state &&
    granted !== lease.state &&
    granted === req.lease.state &&
    !lease.breaking
  ) {
    lease.state = granted;
    lease.epoch += 1;
  }
  lease.opens.add(open);
  open.lease = lease;
  open.oplock = OPLOCK_LEVEL_LEASE;
  return OPLOCK_LEVEL_LEASE;
}

/**
 * Before an open of an existing file on this node proceeds, the other nodes' clients give up
 * write caching of it (everything when the open overwrites), as this node's own do
 * (`contendForOpen`); a stat open breaks nothing. Undefined when no other node caches the file.
 */
export function recallOtherNodes(env: ServerEnv, ino: bigint, access: number, overwrite: boolean) {
  if (!env.ns.caching.cluster || isOplockStatOpen(access)) return undefined;
  return env.ns.caching.recall(ino, overwrite ? 'write' : 'read', 'remote');
}

/** R, RH, RW, RWH; anything else (write or handle caching without read) is no lease. */
function validLeaseState(state: number): number {
  return state & R ? state : CACHE.NONE;
}

/**
 * Breaks an open's caching down to `to` (Samba's process_oplock_break_message). A lease: a
 * break already in progress only lowers what it requires; a read-only lease drops to none with
 * a notification needing no answer; otherwise the client is sent a break it must acknowledge.
 * An oplock: LEVEL_II to none is told and done; a higher one is offered LEVEL_II or none and
 * awaited. A holder whose connection is gone (a durable open waiting for its client) cannot
 * answer: its open is closed.
 */
export function breakCaching(env: ServerEnv, holder: Open, to: number): void {
  if (holder.disconnected) {
    closeOpen(env, holder).catch((e) => env.log.error({ err: e }, 'SMB close of a durable open failed'));
    return;
  }
  const lease = holder.lease;
  if (lease) {
    breakLease(env, lease, to);
    return;
  }
  if (holder.oplockBreak) return;
  const from = oplockCaching(holder.oplock);
  if (from === 0 || (from & ~to) === 0) return;
  const level = to & R ? OPLOCK_LEVEL_II : OPLOCK_LEVEL_NONE;
  connOf(env, holder)?.sendOplockBreak(holder, level);
  if (from === R) {
    holder.oplock = OPLOCK_LEVEL_NONE;
    env.inodes.touch(holder.ino);
    return;
  }
  const cancelTimeout = loopTimeout(
    env.config.smb.breakTimeoutMs,
    () => {
      holder.oplockBreak = undefined;
      holder.oplock = OPLOCK_LEVEL_NONE;
      env.ns.caching.stats.unanswered++;
      env.log.warn(
        { path: holder.path },
        `SMB oplock break on ${holder.path} not acknowledged; oplock taken`,
      );
      env.inodes.touch(holder.ino);
    },
    { unref: true },
  );
  holder.oplockBreak = { to: level, cancelTimeout };
}

function breakLease(env: ServerEnv, lease: Lease, wanted: number): void {
  const from = lease.state;
  let to = wanted & from;
  if (lease.breaking) {
    lease.breakToRequired &= to;
    return;
  }
  if (from === to) return;
  lease.epoch += 1;
  if (from === R) {
    lease.state = CACHE.NONE;
    sendLeaseBreak(env, lease, from, CACHE.NONE, false);
    env.inodes.touch(lease.ino);
    return;
  }
  to &= from;
  lease.breaking = true;
  lease.breakToRequested = to;
  lease.breakToRequired = to;
  armLeaseTimeout(env, lease);
  sendLeaseBreak(env, lease, from, to, true);
}

function armLeaseTimeout(env: ServerEnv, lease: Lease): void {
  lease.cancelTimeout?.();
  lease.cancelTimeout = loopTimeout(
    env.config.smb.breakTimeoutMs,
    () => {
      lease.cancelTimeout = undefined;
      if (!lease.breaking) return;
      env.ns.caching.stats.unanswered++;
      env.log.warn(`SMB lease break not acknowledged; lease ${lease.key.toString('hex')} taken`);
      lease.breaking = false;
      lease.state = CACHE.NONE;
      lease.breakToRequested = lease.breakToRequired = CACHE.NONE;
      env.inodes.touch(lease.ino);
    },
    { unref: true },
  );
}

/** A lease break goes to a connection of the lease's client that has one of its opens. */
function sendLeaseBreak(env: ServerEnv, lease: Lease, from: number, to: number, ackRequired: boolean): void {
  for (const open of lease.opens) {
    const conn = connOf(env, open);
    if (!conn) continue;
    conn.sendLeaseBreak(lease, { from, to, ackRequired });
    return;
  }
}

function connOf(env: ServerEnv, open: Open): ConnectionState | undefined {
  return env.sessions.get(open.session.id)?.conn;
}

/**
 * Before data changes through `through` (a WRITE, a new end of file or allocation, a byte-range
 * lock: Samba's contend_level2_oplocks_begin): every other lease's read caching is broken to
 * none, and every level II oplock (the writer's own too, as Samba does). The change does not
 * wait: a lease that also caches handles is asked to acknowledge, but what it read is stale
 * either way, and an open with write caching is alone on the file. Returns the other nodes'
 * recall, for the change to wait for.
 */
export function breakReadCaching(env: ServerEnv, through: Open): Promise<void> | undefined {
  // Other nodes' clients have their caching recalled, and the change waits for it: opens that
  // cache nothing are not seen across nodes, so one there may hold write caching.
  const remote = env.ns.caching.cluster ? env.ns.caching.recall(through.ino, 'write', 'remote') : undefined;
  if (cachingOf(through) & W) return remote;
  const readCaching = (o: Open) => (cachingOf(o) & R) !== 0 && !(o.lease && o.lease === through.lease);
  if (!env.inodes.anyOf(through.ino, readCaching)) return remote;
  for (const o of env.inodes.opensOf(through.ino)) if (readCaching(o)) breakCaching(env, o, CACHE.NONE);
  return remote;
}

/**
 * Before a file is renamed or its deletion set through `through`: other clients' handle caching
 * is broken, since a handle they keep open would hold the old name (Samba's
 * delay_for_handle_lease_break; oplocks are left alone). Says whether a break is yet to be
 * acknowledged: a rename waits for it (`waitForBreaks`), a delete does not.
 */
export function breakHandleCaching(env: ServerEnv, through: Open): boolean {
  let pending = false;
  for (const o of env.inodes.opensOf(through.ino)) {
    const lease = o.lease;
    if (!lease || lease === through.lease || !(lease.state & H)) continue;
    breakCaching(env, o, lease.state & ~H);
    pending = true;
  }
  return pending;
}

/**
 * The SMB server's part in the namespace's recalls (storage/caching-recall.ts): before NFS or S3
 * changes a file, every SMB client's caching of it is broken to none; before they read it,
 * write caching is (to read and handle caching; an oplock to level II). The other protocol
 * waits until write and handle caching are acknowledged (the client has written back what it
 * held) or their breaks time out. Read caching is dropped at once. Other gateway nodes' recalls
 * reach this node's clients through it too (cluster-opens.ts).
 */
export function cachingHolder(env: ServerEnv): CachingHolder {
  return {
    get active() {
      return !env.inodes.empty;
    },
    recall(ino, need) {
      const keep = need === 'read' ? R | H : need === 'handle' ? R | W : CACHE.NONE;
      // A handle recall, like `breakHandleCaching`, is for leases: oplocks are left alone.
      const beyond = (o: Open) =>
        (cachingOf(o) & ~keep) !== 0 && (need !== 'handle' || o.lease !== undefined);
      return env.inodes.anyOf(ino, beyond) ? recallAll(env, ino, keep, beyond) : undefined;
    },
  };
}

async function recallAll(
  env: ServerEnv,
  ino: bigint,
  keep: number,
  beyond: (o: Open) => boolean,
): Promise<void> {
  for (;;) {
    // Listened for before any break: a holder answering at once is not missed.
    const changed = env.inodes.changed(ino);
    let pending = false;
    for (const o of env.inodes.opensOf(ino)) {
      if (!beyond(o)) continue;
      if (o.disconnected) {
        await closeOpen(env, o).catch(() => {});
        continue;
      }
      const breaking = o.oplockBreak !== undefined || o.lease?.breaking === true;
      pending ||= breaking || (cachingOf(o) & ~keep & (W | H)) !== 0;
      breakCaching(env, o, cachingOf(o) & keep);
    }
    if (!pending) return;
    await changed;
  }
}

/**
 * An oplock break acknowledgment (§3.3.5.22.1): only while a break is in progress; LEVEL_II or
 * NONE. The open keeps LEVEL_II when that was offered and accepted, else none.
 */
export function acknowledgeOplockBreak(env: ServerEnv, open: Open, level: number): number {
  const pending = open.oplockBreak;
  if (!pending || open.lease)
    throw new SmbError(NT_STATUS.STATUS_INVALID_OPLOCK_PROTOCOL, 'no oplock break in progress');
  if (level !== OPLOCK_LEVEL_NONE && level !== OPLOCK_LEVEL_II)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `OplockLevel ${level}`);
  pending.cancelTimeout();
  open.oplockBreak = undefined;
  open.oplock =
    pending.to === OPLOCK_LEVEL_NONE || level === OPLOCK_LEVEL_NONE ? OPLOCK_LEVEL_NONE : OPLOCK_LEVEL_II;
  env.inodes.touch(open.ino);
  return open.oplock;
}

/**
 * A lease break acknowledgment (§3.3.5.22.2, as Samba's downgrade_lease): the client's lease
 * with that key, while breaking; the state kept may not exceed what the break offered. A state
 * above what the break now requires (a later break asked for less) is broken again at once.
 */
export function acknowledgeLeaseBreak(
  env: ServerEnv,
  clientGuid: Buffer,
  key: Buffer,
  state: number,
): number {
  const lease = env.leases.get(clientGuid, key);
  if (!lease) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, 'no such lease');
  if (!lease.breaking) throw new SmbError(NT_STATUS.STATUS_UNSUCCESSFUL, 'no lease break in progress');
  if ((state & lease.breakToRequested) !== state)
    throw new SmbError(NT_STATUS.STATUS_REQUEST_NOT_ACCEPTED, 'the lease state asked for exceeds the break');
  lease.state = state;
  if ((state & ~lease.breakToRequired) !== 0) {
    const from = state;
    const ackRequired = (from & (W | H)) !== 0;
    const to = lease.breakToRequired | (ackRequired ? R : 0);
    if (ackRequired) {
      lease.breakToRequested = to;
      armLeaseTimeout(env, lease);
    } else {
      lease.state = CACHE.NONE;
      lease.breaking = false;
      lease.breakToRequested = lease.breakToRequired = CACHE.NONE;
      lease.cancelTimeout?.();
    }
    setImmediate(() => sendLeaseBreak(env, lease, from, to & from, ackRequired));
  } else {
    lease.breaking = false;
    lease.breakToRequested = lease.breakToRequired = CACHE.NONE;
    lease.cancelTimeout?.();
  }
  env.inodes.touch(lease.ino);
  return state;
}
