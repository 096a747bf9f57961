import { type ByteRangeLock, type LockOwner, type LockTable, spansMeet } from '../../storage/locks.ts';

/** A byte range as NLM and the lock table give it: length 0 runs to the end of the file. */
export interface ByteRange {
  offset: bigint;
  length: bigint;
}

const U64_MAX = (1n << 64n) - 1n;

/** One past the last byte, or undefined for "to the end of the file". */
function endOf(r: ByteRange): bigint | undefined {
  return r.length === 0n ? undefined : r.offset + r.length;
}

/**
 * A range whose end lies past 2^64 - 1 means "to the end of the file" (fcntl's l_len = 0 as
 * 64-bit clients compute it), as Linux lockd reads it.
 */
export function clampRange(r: ByteRange): ByteRange {
  return r.length !== 0n && r.offset + r.length - 1n > U64_MAX ? { offset: r.offset, length: 0n } : r;
}

/** Whether two NLM ranges share a byte (the lock table's test). */
export const overlaps: (a: ByteRange, b: ByteRange) => boolean = spansMeet;

/** The parts of `lock` outside `cut` (zero, one or two ranges). */
export function outside(lock: ByteRange, cut: ByteRange): ByteRange[] {
  const out: ByteRange[] = [];
  if (lock.offset < cut.offset) out.push({ offset: lock.offset, length: cut.offset - lock.offset });
  const cutEnd = endOf(cut);
  const lockEnd = endOf(lock);
  if (cutEnd !== undefined && (lockEnd === undefined || lockEnd > cutEnd)) {
    out.push({ offset: cutEnd, length: lockEnd === undefined ? 0n : lockEnd - cutEnd });
  }
  return out;
}

/** The owner's locks on an inode that overlap a range. */
export function ownedOverlapping(
  table: LockTable,
  ino: bigint,
  ownerKey: string,
  range: ByteRange,
): ByteRangeLock[] {
  return table.list().filter((l) => l.ino === ino && l.owner.key === ownerKey && overlaps(l, range));
}

/**
 * POSIX unlock of a range: the owner's locks inside it go, the parts of its locks that stick
 * out of it stay. The remaining parts are taken before the originals are released, so no
 * other owner can slip into them in between (the table wakes waiters on release).
 */
export function unlockRange(
  table: LockTable,
  ino: bigint,
  owner: LockOwner,
  range: ByteRange,
  except?: { offset: bigint; length: bigint; exclusive: boolean },
): number {
  let released = 0;
  for (const l of ownedOverlapping(table, ino, owner.key, range)) {
    if (
      except &&
      l.offset === except.offset &&
      l.length === except.length &&
      l.exclusive === except.exclusive
    ) {
      continue;
    }
    for (const part of outside(l, range)) {
      table.lock({ ino, offset: part.offset, length: part.length, exclusive: l.exclusive, owner: l.owner });
    }
    table.unlock(ino, l.offset, l.length, owner.key, { exclusive: l.exclusive });
    released++;
  }
  return released;
}

/**
 * Takes a lock with POSIX semantics for its owner: the new lock replaces whatever the owner
 * held over the same bytes (an upgrade or downgrade), added before the old ones are trimmed.
 * Returns the conflicting lock of another owner instead when there is one.
 */
export function lockRange(
  table: LockTable,
  req: { ino: bigint; offset: bigint; length: bigint; exclusive: boolean; owner: LockOwner },
): ByteRangeLock | undefined {
  const mine = ownedOverlapping(table, req.ino, req.owner.key, req);
  if (
    mine.length === 1 &&
    mine[0]!.offset === req.offset &&
    mine[0]!.length === req.length &&
    mine[0]!.exclusive === req.exclusive
  ) {
    return undefined;
  }
  const r = table.lock(req);
  if (!r.granted) return r.holder;
  if (mine.length > 0) {
    // The old locks are listed before the new one, so an exact-range unlock finds them first.
    unlockRange(table, req.ino, req.owner, req, req);
  }
  return undefined;
}
