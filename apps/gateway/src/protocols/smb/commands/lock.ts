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
  locks: LockElement[];
}

/** MS-SMB2 §2.2.26. */
export function decodeLock(r: Reader): LockRequest {
  r.structureSize(48);
  const count = r.u16('LockCount');
  r.skip(4, 'LockSequence');
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
  return { fileId, locks };
}

/**
 * MS-SMB2 §3.3.5.14 over the gateway's one lock table (shared with NLM). A range reaching 2^64
 * is "to the end" there; zero-length locks are kept on the open only (they conflict with
 * nothing). A conflicting lock without FAIL_IMMEDIATELY waits (async) until the range is
 * released or the request is cancelled.
 */
export async function handleLock(ctx: RequestContext, req: LockRequest): Promise<void> {
  const open = ctx.open(req.fileId);
  if (open.kind !== 'file') throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'locks are on files');
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

function tableLength(l: { offset: bigint; length: bigint }): bigint {
  return l.offset + l.length === TOP ? 0n : l.length;
}

/**
 * The open's own locks against a new one (Windows' rules): a shared lock stacks on anything the
 * same open holds; an exclusive one conflicts with any of its overlapping locks, a zero-length
 * one with a zero-length lock at the same offset.
 */
function selfConflict(open: Open, l: HeldLock): boolean {
  if (!l.exclusive) return false;
  if (l.length === 0n) return open.locks.some((h) => h.length === 0n && h.offset === l.offset);
  const end = l.offset + l.length;
  return open.locks.some((h) => h.length > 0n && h.offset < end && l.offset < h.offset + h.length);
}

/** Whether a write of [offset, offset+length) through this open meets one of its own shared locks. */
export function ownSharedLockConflict(open: Open, offset: bigint, length: bigint): boolean {
  const end = offset + length;
  return open.locks.some(
    (h) => !h.exclusive && h.length > 0n && h.offset < end && offset < h.offset + h.length,
  );
}

async function take(ctx: RequestContext, open: Open, l: HeldLock, wait: boolean): Promise<void> {
  const { locks } = ctx.env.ns;
  let async = false;
  for (;;) {
    // The handle closed while the lock waited: nothing was locked (Samba's answer).
    if (open.closed) throw new SmbError(NT_STATUS.STATUS_RANGE_NOT_LOCKED, 'the handle closed while waiting');
    if (!selfConflict(open, l)) {
      if (l.length === 0n) {
        open.locks.push(l);
        return;
      }
      const got = await locks.arbitrate(open.ino, () =>
        locks.lock({
          ino: open.ino,
          offset: l.offset,
          length: tableLength(l),
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

function unlock(ctx: RequestContext, open: Open, l: LockElement): void {
  const i = open.locks.findIndex((h) => h.offset === l.offset && h.length === l.length);
  if (i < 0) throw new SmbError(NT_STATUS.STATUS_RANGE_NOT_LOCKED, 'no such lock');
  const [h] = open.locks.splice(i, 1);
  if (h!.length > 0n) ctx.env.ns.locks.unlock(open.ino, h!.offset, tableLength(h!), open.lockKey);
}

export function encodeLock(): Buffer {
  return Buffer.from([4, 0, 0, 0]);
}
