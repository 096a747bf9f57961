import type { QuotaKind, QuotaRecord } from '../../control/index.ts';
import type { SpaceLimits } from '../../storage/quota-space.ts';
import { formatSize } from '../../util/units.ts';

/**
 * What a quota means, as pure functions shared by the enforcing gate and `./cfs quota`.
 *
 * Limits follow Linux disk quotas (fs/quota/dquot.c): usage may reach a limit but not pass
 * it — a soft limit is exceeded when usage > soft, a change is refused when it would take
 * usage > hard. Once the grace clock (started when usage first went over soft) has run for
 * the grace period, the soft limit refuses growth as the hard one does.
 */

export interface UsageAmounts {
  readonly bytes: bigint;
  readonly inodes: bigint;
}

export type Dimension = 'bytes' | 'inodes';

/** Shown by `./cfs quota get|list`; the order is the order of severity. */
export const QUOTA_STATES = ['ok', 'over soft', 'in grace', 'grace expired', 'over hard'] as const;
export type QuotaState = (typeof QUOTA_STATES)[number];

/** `uid=1000` / `gid=1500`, as the runbook's log lines name a subject. */
export function subjectLabel(kind: QuotaKind, id: number): string {
  return `${kind}=${id}`;
}

export function graceMsOf(q: Pick<QuotaRecord, 'graceMs'>, defaultGraceMs: number): number {
  return q.graceMs ?? defaultGraceMs;
}

/** The dimension whose soft limit `usage` is over (bytes first), or undefined. */
export function overSoft(q: QuotaRecord, usage: UsageAmounts): Dimension | undefined {
  if (q.softBytes !== null && usage.bytes > q.softBytes) return 'bytes';
  if (q.softInodes !== null && usage.inodes > q.softInodes) return 'inodes';
  return undefined;
}

/** The dimension whose hard limit `usage` has reached: nothing more of it can be added. */
export function atHard(q: QuotaRecord, usage: UsageAmounts): Dimension | undefined {
  if (q.hardBytes !== null && usage.bytes >= q.hardBytes) return 'bytes';
  if (q.hardInodes !== null && usage.inodes >= q.hardInodes) return 'inodes';
  return undefined;
}

export function graceExpired(q: QuotaRecord, now: number, defaultGraceMs: number): boolean {
  return q.softExceededAt !== null && now - q.softExceededAt.getTime() >= graceMsOf(q, defaultGraceMs);
}

/**
 * The limits free space is shown against: the soft limit where one is set, else the hard one —
 * what Samba's dfree reports for a user's quota and XFS's statfs for a project's.
 */
export function spaceLimits(q: QuotaRecord): SpaceLimits {
  return { bytes: q.softBytes ?? q.hardBytes, inodes: q.softInodes ?? q.hardInodes };
}

/** Why a change is refused: which limit it would pass. */
export interface Refusal {
  readonly dimension: Dimension;
  /** 'soft' when the soft limit acts as hard because the grace period has expired. */
  readonly limitKind: 'hard' | 'soft';
  readonly limit: bigint;
  /** The unit the limit was set in (bytes only). */
  readonly unit: string | null;
}

/**
 * The limit a change from `usage` by (addBytes, addInodes) would pass, or undefined when it
 * is allowed. Only a dimension that grows can be refused: creating an empty file while the
 * byte limit is reached is allowed, as on Linux.
 */
export function refusalFor(
  q: QuotaRecord,
  usage: UsageAmounts,
  addBytes: bigint,
  addInodes: bigint,
  now: number,
  defaultGraceMs: number,
): Refusal | undefined {
  const softIsHard = graceExpired(q, now, defaultGraceMs);
  if (addBytes > 0n) {
    const after = usage.bytes + addBytes;
    if (q.hardBytes !== null && after > q.hardBytes) {
      return { dimension: 'bytes', limitKind: 'hard', limit: q.hardBytes, unit: q.hardUnit };
    }
    if (softIsHard && q.softBytes !== null && after > q.softBytes) {
      return { dimension: 'bytes', limitKind: 'soft', limit: q.softBytes, unit: q.softUnit };
    }
  }
  if (addInodes > 0n) {
    const after = usage.inodes + addInodes;
    if (q.hardInodes !== null && after > q.hardInodes) {
      return { dimension: 'inodes', limitKind: 'hard', limit: q.hardInodes, unit: null };
    }
    if (softIsHard && q.softInodes !== null && after > q.softInodes) {
      return { dimension: 'inodes', limitKind: 'soft', limit: q.softInodes, unit: null };
    }
  }
  return undefined;
}

/**
 * `usage=10GB/10GB` for bytes, in the unit the limit was set in (the largest fitting decimal
 * unit when none was recorded); `inodes=500/500` for inode counts.
 */
export function usageText(dimension: Dimension, used: bigint, limit: bigint, unit: string | null): string {
  if (dimension === 'inodes') return `inodes=${used}/${limit}`;
  const u = unit ?? undefined;
  return `usage=${formatSize(used, u)}/${formatSize(limit, u)}`;
}

export function softExceededLine(kind: QuotaKind, id: number, text: string): string {
  return `WARN: Soft quota exceeded for ${subjectLabel(kind, id)} (${text})`;
}

export function hardExceededLine(kind: QuotaKind, id: number, text: string): string {
  return `ERROR: Hard quota exceeded for ${subjectLabel(kind, id)} (${text})`;
}

export interface StateReport {
  readonly state: QuotaState;
  readonly graceMs: number;
  /** True when the quota carries its own grace period, false when the configured default applies. */
  readonly ownGrace: boolean;
  /** Left of the grace period while 'in grace'; 0 once expired; null when no clock runs. */
  readonly graceRemainingMs: number | null;
}

/**
 * 'over soft' is usage above soft with no grace clock yet: the gateway starts the clock when
 * it next sees the subject (within a poll interval while it runs).
 */
export function quotaState(
  q: QuotaRecord,
  usage: UsageAmounts,
  now: number,
  defaultGraceMs: number,
): StateReport {
  const graceMs = graceMsOf(q, defaultGraceMs);
  const ownGrace = q.graceMs !== null;
  const remaining =
    q.softExceededAt === null ? null : Math.max(0, q.softExceededAt.getTime() + graceMs - now);
  const report = (state: QuotaState, graceRemainingMs: number | null): StateReport => ({
    state,
    graceMs,
    ownGrace,
    graceRemainingMs,
  });
  if (atHard(q, usage)) return report('over hard', remaining);
  if (!overSoft(q, usage)) return report('ok', null);
  if (remaining === null) return report('over soft', null);
  return report(remaining > 0 ? 'in grace' : 'grace expired', remaining);
}
