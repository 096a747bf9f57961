import type { SpaceLimits } from './quota-space.ts';
import type { QuotaUsage } from './types.ts';

/** What a change is about to add to the ledger, for the quota gate to accept or refuse. */
export interface LedgerCharge {
  readonly uid: number;
  readonly gid: number;
  readonly addBytes: bigint;
  readonly addInodes: bigint;
  /** Current usage, read inside the same transaction as the change (zero if not watched). */
  usage(kind: 'uid' | 'gid', id: number): QuotaUsage;
}

/**
 * Called inside the metadata transaction before usage grows, so enforcement is exact: a
 * gate that throws (EDQUOT) aborts the change and nothing is written. The ops plane's quota
 * enforcement implements it; the foundation accepts everything.
 */
export interface LedgerGate {
  check(charge: LedgerCharge): void;
  /**
   * Whether the gate has a limit for the subject: usage is read (and, on PostgreSQL, the
   * subject's ledger locked) only for subjects it watches. Absent: every subject.
   */
  watches?(kind: 'uid' | 'gid', id: number): boolean;
  /**
   * The room a subject's quota gives it, for the free space a client is shown (NFS FSSTAT,
   * SMB's volume size): undefined when the gate sets no limit on it.
   */
  limits?(kind: 'uid' | 'gid', id: number): SpaceLimits | undefined;
}

export const OPEN_GATE: LedgerGate = { check() {}, watches: () => false };
