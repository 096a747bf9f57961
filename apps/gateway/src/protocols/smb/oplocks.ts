import { closeOpen } from './close-open.ts';
import { ACCESS, OPLOCK_LEVEL_BATCH, OPLOCK_LEVEL_NONE } from './constants.ts';
import type { RequestContext, ServerEnv } from './context.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { DATA_ACCESS, type Open } from './open-files.ts';

/** How long a holder has to acknowledge a break before the oplock is taken from it (Windows: 35 s). */
export const OPLOCK_BREAK_TIMEOUT_MS = 35_000;

/**
 * The oplock a new open gets. This server grants one kind: a batch oplock, to an open that asks
 * for it together with a durable handle (MS-SMB2 reconnects only batch-oplocked durable opens),
 * on a file nobody else has open. Everything else gets none.
 */
export function oplockFor(env: ServerEnv, open: Open, requested: number, durable: boolean): number {
  if (!durable || requested !== OPLOCK_LEVEL_BATCH || open.kind !== 'file') return OPLOCK_LEVEL_NONE;
  return env.inodes.opensOf(open.ino).length === 1 ? OPLOCK_LEVEL_BATCH : OPLOCK_LEVEL_NONE;
}

/**
 * Before another open of the file proceeds (MS-SMB2 §3.3.4.6 with MS-FSA's oplock checks on
 * create): a batch oplock is broken to none. A connected holder is sent an OPLOCK_BREAK and
 * the CREATE waits (async) for its acknowledgment, its close, or the timeout; a disconnected
 * durable holder cannot answer, so its open is closed (the durable handle is lost). An open
 * that touches no data (attributes, synchronize) breaks nothing. Says whether any was broken.
 */
export async function breakOplocks(ctx: RequestContext, ino: bigint, access: number): Promise<boolean> {
  if ((access & (DATA_ACCESS | ACCESS.MAXIMUM_ALLOWED)) === 0) return false;
  let waiting = false;
  let broke = false;
  for (const holder of ctx.env.inodes.opensOf(ino)) {
    if (holder.oplock !== OPLOCK_LEVEL_BATCH) continue;
    broke = true;
    if (holder.disconnected) {
      await closeOpen(ctx.env, holder);
      continue;
    }
    const pending = holder.oplockBreak ?? startBreak(ctx.env, holder);
    if (!waiting) {
      waiting = true;
      try {
        ctx.goAsync();
      } catch {
        // Not the last request of a compound: it cannot go async, so it waits with no interim reply.
      }
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new SmbError(NT_STATUS.STATUS_CANCELLED, 'cancelled'));
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      void pending.done.then(() => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
  return broke;
}

function startBreak(env: ServerEnv, holder: Open) {
  let release!: () => void;
  const done = new Promise<void>((r) => {
    release = r;
  });
  const timer = setTimeout(() => settle(), OPLOCK_BREAK_TIMEOUT_MS);
  timer.unref();
  const settle = () => {
    clearTimeout(timer);
    holder.oplock = OPLOCK_LEVEL_NONE;
    if (holder.oplockBreak === pending) holder.oplockBreak = undefined;
    release();
  };
  const pending = { done, settle };
  holder.oplockBreak = pending;
  const conn = env.sessions.get(holder.session.id)?.conn;
  if (conn) conn.sendOplockBreak(holder, OPLOCK_LEVEL_NONE);
  else settle();
  return pending;
}

/**
 * An acknowledgment of a break (§3.3.5.22.1): only while one is in progress; breaks here go to
 * none, so a LEVEL_II acknowledgment asks for more than is left (INVALID_OPLOCK_PROTOCOL, and
 * the oplock is gone all the same).
 */
export function acknowledgeBreak(open: Open, level: number): number {
  const pending = open.oplockBreak;
  if (!pending) throw new SmbError(NT_STATUS.STATUS_INVALID_OPLOCK_PROTOCOL, 'no oplock break in progress');
  pending.settle();
  if (level !== OPLOCK_LEVEL_NONE)
    throw new SmbError(
      NT_STATUS.STATUS_INVALID_OPLOCK_PROTOCOL,
      `acknowledged level ${level}, broke to none`,
    );
  return OPLOCK_LEVEL_NONE;
}
