export type QuotaKind = 'uid' | 'gid';

/** In order of severity, as `./cfs quota list` prints them. */
export type QuotaState = 'ok' | 'over soft' | 'in grace' | 'grace expired' | 'over hard';

/**
 * One quota with its usage and state: the shape `./cfs quota get --json` prints. Byte and inode
 * amounts are decimal strings (exact past 2^53); the `…Text` fields are in the units the
 * limits were set in (`20GB`).
 */
export interface QuotaView {
  kind: QuotaKind;
  id: number;
  /** The user or group holding the id, when the control plane has one. */
  name: string | null;
  bytes: {
    used: string;
    soft: string | null;
    hard: string | null;
    softUnit: string | null;
    hardUnit: string | null;
    usedText: string;
    softText: string | null;
    hardText: string | null;
  };
  inodes: { used: string; soft: string | null; hard: string | null };
  graceMs: number;
  /** `7d`. */
  graceText: string;
  /** False when quota.grace_period (the default) applies. */
  ownGrace: boolean;
  /** When usage first went over soft (ISO 8601); null while under. */
  softExceededAt: string | null;
  state: QuotaState;
  /** Left of the grace period while in grace; 0 once expired; null when no clock runs. */
  graceRemainingMs: number | null;
}

/**
 * One uid or gid owning space or holding a quota, as `./cfs quota report --json` prints it
 * (repquota): what it uses, and its quota when it has one.
 */
export interface UsageView {
  kind: QuotaKind;
  id: number;
  name: string | null;
  used: { bytes: string; inodes: string; text: string };
  quota: QuotaView | null;
}

/**
 * `quotas.set`: only the fields given change; null removes a limit (grace: back to the
 * default). Sizes are text with a unit (`20GB`, `512MiB`, `1.5TB`), durations too (`7d`).
 */
export interface QuotaSetRequest {
  kind: QuotaKind;
  id: number;
  soft?: string | null;
  hard?: string | null;
  softInodes?: number | null;
  hardInodes?: number | null;
  grace?: string | null;
}

/** One dimension (bytes or inodes) of one quota, as the enforcing gate sees it now. */
export interface QuotaDimensionExplanation {
  /** A change that grows this dimension by one byte or inode would be refused now. */
  blocked: boolean;
  /** What refuses it: the hard limit, or the soft one once grace ran out; null when not blocked. */
  limitKind: 'hard' | 'soft' | null;
  used: string;
  soft: string | null;
  hard: string | null;
  /** How much can still be added before a refusal; null when nothing limits it. */
  headroom: string | null;
  /** The gate's arithmetic in words: `usage 12GB + 1 byte > hard 12GB: …`. */
  arithmetic: string;
}

export interface QuotaSubjectExplanation {
  kind: QuotaKind;
  id: number;
  name: string | null;
  /** Null when no quota is set for this subject (it never refuses anything). */
  quota: QuotaView | null;
  bytes: QuotaDimensionExplanation;
  inodes: QuotaDimensionExplanation;
}

/** "Why was I blocked?": every quota a write by this uid/gid is charged to, with the arithmetic. */
export interface QuotaExplanation {
  uid: number | null;
  gid: number | null;
  /** The account holding the uid, when there is one. */
  user: string | null;
  /** Some write (adding bytes or a new file) would be refused now. */
  blocked: boolean;
  subjects: QuotaSubjectExplanation[];
  /** One sentence to read to the user. */
  summary: string;
}
