import type { Logger } from 'pino';
import { RepeatLimit } from '../util/repeat-limit.ts';

/**
 * The lines a protocol logs when it refuses a client (`S3 request refused: AccessDenied`,
 * `NFSv3 READ refused: NFS3ERR_ACCES`, `SMB logon failed: …`) are what a client can make as
 * fast as it is answered: each refused request was a warning, so 60 anonymous GETs on a private
 * bucket were 60 lines. Per line and client address, 20 are written in 10 s; past that they are
 * counted, and when the 10 s end one line says how many more there were. A client's refusals
 * never hide another client's.
 */
export const REFUSAL_LINES = { perWindow: 20, windowMs: 10_000 };

const limits = new WeakMap<Logger, RepeatLimit>();

/** The limit of one logger (each protocol's), its summaries written to the same logger. */
export function refusalLimit(log: Logger): RepeatLimit {
  let limit = limits.get(log);
  if (!limit) {
    limit = new RepeatLimit((h) => {
      const [level, what, remote] = h.key.split('\u0000') as ['warn' | 'info', string, string];
      log[level](
        { remote, suppressed: h.suppressed },
        `${what}: ${h.suppressed} more from ${remote} in the last ${h.windowSeconds} s, not logged one by one`,
      );
    }, REFUSAL_LINES);
    limits.set(log, limit);
  }
  return limit;
}

/**
 * Logs a refusal of the client at `remote`, within the limit (see REFUSAL_LINES). `what` is the
 * line's fixed part (`S3 request refused: AccessDenied`), which the limit counts by and the
 * summary line starts with; `msg` may say more (a user name, a reason).
 */
export function logRefusal(
  log: Logger,
  level: 'warn' | 'info',
  remote: string | undefined,
  what: string,
  fields: object,
  msg: string = what,
): void {
  if (!log.isLevelEnabled(level)) return;
  if (refusalLimit(log).admit(`${level}\u0000${what}\u0000${remote ?? ''}`)) log[level](fields, msg);
}
