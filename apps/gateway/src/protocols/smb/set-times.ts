import type { Attributes } from '../../storage/types.ts';
import type { RequestContext } from './context.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { fileTimes, smbMeta, writeChangeTime } from './file-meta.ts';
import { filetimeToNs } from './filetime.ts';
import type { Open } from './open-files.ts';

/**
 * The times a handle sets and keeps (MS-FSA §2.1.5.14.2, Open.UserSetModificationTime and
 * Open.UserSetChangeTime), as Windows Server 2019 and later apply them: a write, an end of file
 * or an allocation moves LastWriteTime at once, unless the handle it goes through set that time
 * (or froze it with -1; -2 thaws it). Other handles' changes still move it. FLUSH and CLOSE
 * never do.
 */

/** FILE_BASIC_INFORMATION's special time values (MS-FSCC §2.4.7). */
const FREEZE = -1n;
const THAW = -2n;

/** A time field of FILE_BASIC_INFORMATION to set, in ns; undefined for 0, -1 and -2. */
export function timeToSet(v: bigint): bigint | undefined {
  if (v === 0n || v === FREEZE || v === THAW) return undefined;
  if (v < 0n) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'negative time');
  return filetimeToNs(v);
}

/**
 * Freezing LastWriteTime (-1) promises to put it back after the open's changes, which sets an
 * explicit time: only the owner (or root) may, as for setting a time (storage/meta/attributes.ts).
 */
export function checkFreeze(ctx: RequestContext, a: Attributes, rawWrite: bigint): void {
  const { uid } = ctx.cred();
  if (rawWrite === FREEZE && uid !== 0 && uid !== a.uid)
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'only the owner may freeze the write time');
}

/**
 * After FILE_BASIC_INFORMATION was applied: a LastWriteTime or ChangeTime set, or frozen with -1,
 * is kept by the open through its own changes; -2 lets them move it again.
 */
export async function keepTimesSet(
  ctx: RequestContext,
  open: Open,
  rawWrite: bigint,
  rawChange: bigint,
): Promise<void> {
  if (rawWrite === THAW) open.writeTimeFrozen = false;
  else if (rawWrite !== 0n) open.writeTimeFrozen = true;
  if (rawChange === THAW) open.stickyChangeTime = undefined;
  else if (rawChange === FREEZE) {
    const a = await ctx.env.ns.getattr(open.ino);
    open.stickyChangeTime = fileTimes(a, await smbMeta(ctx.env.ns, a)).changeTime;
  } else if (rawChange !== 0n) open.stickyChangeTime = BigInt.asUintN(64, rawChange);
}

/**
 * What a change made through `open` moves LastWriteTime to: its time now when the open keeps it
 * (read before the change, put back after), else the server's clock.
 */
export async function writeTimeAfterChange(ctx: RequestContext, open: Open): Promise<bigint | 'now'> {
  return open.writeTimeFrozen ? (await ctx.env.ns.getattr(open.ino)).mtimeNs : 'now';
}

/**
 * After a change made through `open` that moved LastWriteTime itself (a write): puts back the
 * write time it keeps (`before`, from writeTimeAfterChange) and the ChangeTime it set.
 */
export async function keepSetTimes(ctx: RequestContext, open: Open, before: bigint | 'now'): Promise<void> {
  if (before !== 'now') await ctx.env.ns.setattr(ctx.cred(), open.ino, { mtimeNs: before });
  await keepChangeTime(ctx, open);
}

/** Re-records the ChangeTime this open set after a change made through it. */
export async function keepChangeTime(ctx: RequestContext, open: Open): Promise<void> {
  if (open.stickyChangeTime !== undefined)
    await writeChangeTime(ctx.env.ns, ctx.cred(), open.ino, open.stickyChangeTime);
}
