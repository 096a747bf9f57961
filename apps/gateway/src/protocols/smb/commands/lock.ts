import { type LockSpan, type LockTable, spansMeet } from '../../../storage/locks.ts';
import { isSmb3 } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import type { FileId, HeldLock, Open } from '../open-files.ts';
import { breakReadCaching } from '../oplocks.ts';
import type { Reader } from '../wire/reader.ts';
import { readFileId } from './file-id.ts';

const SHARED = 0x01;
const EXCLUSIVE = 0x02;
const UNLOCK = 0x04;
const FAIL_IMMEDIATELY = 0x10;
const VALID_FLAGS = new Set([
  SHARED,
  EXCLUSIVE,
  SHARED | FAIL_IMMEDIATELY,
  EXCLUSIVE | FAIL_IMMEDIATELY,
  UNLOCK,
]);
const MAX_LOCKS = 64;
const TOP = 1n << 64n;

export interface LockElement {
  offset: bigint;
  length: bigint;
  flags: number;
}

export interface LockRequest {
  fileId: FileId;
  /** LockSequenceNumber (4 bits) and LockSequenceIndex (28 bits): replay detection, §3.3.5.14. */
  sequence: { number: number; index: number };
  locks: LockElement[];
}

/** MS-SMB2 §2.2.26. */
export function decodeLock(r: Reader): LockRequest {
  r.structureSize(48);
  const count = r.u16('LockCount');
  const sequence = r.u32('LockSequence');
  const fileId = readFileId(r);
  if (count === 0 || count > MAX_LOCKS)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `LockCount ${count}`);
  const locks: LockElement[] = [];
  for (let i = 0; i < count; i++) {
    const offset = r.u64('Locks.Offset');
    const length = r.u64('Locks.Length');
    const flags = r.u32('Locks.Flags');
    r.skip(4, 'Locks.Reserved');
    locks.push({ offset, length, flags });
  }
  return { fileId, sequence: { number: sequence & 0xf, index: sequence >>> 4 }, locks };
}

/**
 * MS-SMB2 §3.3.5.14 over the gateway's one lock table (shared with NLM): a range reaching 2^64
 * is "to the end" there, a zero-length lock a point that conflicts with the ranges holding
 * bytes on both sides of it (tableSpan). A conflicting lock without FAIL_IMMEDIATELY waits
 * (async) until the range is released or the request is cancelled.
 */
export async function handleLock(ctx: RequestContext, req: LockRequest): Promise<void> {
  const open = ctx.open(req.fileId);
  if (open.kind !== 'file') throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'locks are on files');
  if (open.stream !== undefined)
    throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, 'byte-range locks on a named stream');
  const slot = sequenceSlot(ctx, open, req.sequence.index);
  if (slot !== undefined) {
    // The same request sent again after a lost connection (a durable open reconnected): it was
    // done, so it is answered as done, not applied twice (a second lock would meet the first).
    if (open.lockSequences.get(slot) === req.sequence.number) return;
    open.lockSequences.delete(slot);
  }
  await lockOrUnlock(ctx, open, req);
  if (slot !== undefined) open.lockSequences.set(slot, req.sequence.number);
}

/**
 * The entry of Open.LockSequenceArray a request names (§3.3.5.14): kept for durable opens on
 * SMB 3.x, as Windows and Samba do (resilient and persistent handles are not offered); indexes
 * 1–64, 0 meaning none.
 */
function sequenceSlot(ctx: RequestContext, open: Open, index: number): number | undefined {
  if (!isSmb3(ctx.conn.dialect) || open.durable === undefined) return undefined;
  return index >= 1 && index <= 64 ? index : undefined;
}

async function lockOrUnlock(ctx: RequestContext, open: Open, req: LockRequest): Promise<void> {
  const unlocking = req.locks[0]!.flags === UNLOCK;
  if (unlocking) {
    // Unlocks are applied in order; an element that is not a plain unlock, or names no lock,
    // stops there (the ones before it stay undone, as Windows does).
    for (const l of req.locks) {
      if (l.flags !== UNLOCK)
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'locks and unlocks mixed');
      unlock(ctx, open, l);
    }
    return;
  }
  for (const l of req.locks) {
    if (!VALID_FLAGS.has(l.flags) || l.flags === UNLOCK)
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `lock flags 0x${l.flags.toString(16)}`);
    if (req.locks.length > 1 && !(l.flags & FAIL_IMMEDIATELY))
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'several blocking locks in one request');
    if (l.offset + l.length > TOP) throw new SmbError(NT_STATUS.STATUS_INVALID_LOCK_RANGE, 'range past 2^64');
  }
  await breakReadCaching(ctx.env, open);
  const taken: HeldLock[] = [];
  try {
    for (const l of req.locks) {
      const held = { offset: l.offset, length: l.length, exclusive: (l.flags & EXCLUSIVE) !== 0 };
      await take(ctx, open, held, (l.flags & FAIL_IMMEDIATELY) === 0);
      taken.push(held);
    }
  } catch (e) {
    for (const h of taken) unlock(ctx, open, { ...h, flags: UNLOCK });
    throw e;
  }
}

/** An SMB lock's range as the lock table holds it: reaching 2^64 is "to the end", zero length a point. */
export function tableSpan(l: { offset: bigint; length: bigint }): LockSpan {
  if (l.length === 0n) return { offset: l.offset, length: 0n, point: true };
  return { offset: l.offset, length: l.offset + l.length === TOP ? 0n : l.length };
}

/**
 * The open's own locks against a new one (Windows' rules, as Samba's brl_conflict): a shared
 * lock stacks on anything the same open holds; an exclusive one conflicts with any of its
 * locks it meets.
 */
function selfConflict(open: Open, l: HeldLock): boolean {
  if (!l.exclusive) return false;
  const span = tableSpan(l);
  return open.locks.some((h) => spansMeet(tableSpan(h), span));
}

/** Whether a write of [offset, offset+length) through this open meets one of its own shared locks. */
export function ownSharedLockConflict(open: Open, offset: bigint, length: bigint): boolean {
  const span = tableSpan({ offset, length });
  return open.locks.some((h) => !h.exclusive && spansMeet(tableSpan(h), span));
}

async function take(ctx: RequestContext, open: Open, l: HeldLock, wait: boolean): Promise<void> {
  const { locks } = ctx.env.ns;
  let async = false;
  for (;;) {
    // The handle closed while the lock waited: nothing was locked (Samba's answer).
    if (open.closed) throw new SmbError(NT_STATUS.STATUS_RANGE_NOT_LOCKED, 'the handle closed while waiting');
    if (!selfConflict(open, l)) {
      const got = await locks.arbitrate(open.ino, () =>
        locks.lock({
          ino: open.ino,
          ...tableSpan(l),
          exclusive: l.exclusive,
          owner: { protocol: 'smb', key: open.lockKey, client: open.session.lockClient },
        }),
      );
      if (got.granted) {
        open.locks.push(l);
        return;
      }
    }
    if (!wait) throw new SmbError(NT_STATUS.STATUS_LOCK_NOT_GRANTED, 'range locked');
    if (!async) {
      ctx.goAsync();
      async = true;
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        stopRelease();
        open.closeListeners.delete(wake);
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const stopRelease = locks.onRelease(open.ino, wake);
      open.closeListeners.add(wake);
      // Self-conflicts are released by this open's own unlocks: poll them too.
      const timer = setTimeout(wake, 1000);
      const onAbort = () => {
        stopRelease();
        open.closeListeners.delete(wake);
        clearTimeout(timer);
        reject(new SmbError(NT_STATUS.STATUS_CANCELLED, 'lock request cancelled'));
      };
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Removes the open's lock on exactly this range, an exclusive one first (MS-FSA 2.1.5.9). */
function unlock(ctx: RequestContext, open: Open, l: LockElement): void {
  const same = (h: HeldLock) => h.offset === l.offset && h.length === l.length;
  let i = open.locks.findIndex((h) => same(h) && h.exclusive);
  if (i < 0) i = open.locks.findIndex(same);
  if (i < 0) throw new SmbError(NT_STATUS.STATUS_RANGE_NOT_LOCKED, 'no such lock');
  const [h] = open.locks.splice(i, 1);
  releaseTableLock(ctx.env.ns.locks, open, h!);
}

/** Gives a lock the open held back to the lock table (its unlock, or the open's close). */
export function releaseTableLock(locks: LockTable, open: Open, h: HeldLock): void {
  const { offset, length, point } = tableSpan(h);
  locks.unlock(open.ino, offset, length, open.lockKey, { point, exclusive: h.exclusive });
}

export function encodeLock(): Buffer {
  return Buffer.from([4, 0, 0, 0]);
}
