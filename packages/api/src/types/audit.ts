export type AuditOutcome = 'ok' | 'denied' | 'error';

export interface AuditEntryView {
  id: number;
  /** ISO 8601. */
  at: string;
  /** `console:<user>`, `token:<name>`, `cli:<login>`, `loopback`, `anonymous`, `gateway`. */
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  /** What was asked, secrets redacted; or why it failed. */
  detail: unknown;
  remoteAddr: string | null;
}

/** Filters combine with AND; pages run newest first. */
export interface AuditQuery {
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  /** ISO 8601, inclusive. */
  since?: string;
  until?: string;
  /** The previous page's `nextBeforeId`. */
  beforeId?: number;
  /** Default 50, at most 500. */
  limit?: number;
}

export interface AuditPage {
  entries: AuditEntryView[];
  /** Pass as `beforeId` for the next, older page; null on the last page. */
  nextBeforeId: number | null;
}

/** One audited action, as the router hands it to the gateway to store. */
export interface AuditRecord {
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  /** Must hold no secret; the gateway's store also redacts secret-looking keys. */
  detail?: unknown;
  remoteAddress?: string | null;
  /**
   * false: the caller proved nothing (no session, no token). The gateway records only so many
   * of those per address and minute, and then one entry saying how many more it refused.
   */
  authenticated?: boolean;
}
