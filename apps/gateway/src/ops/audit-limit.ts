import type { Gateway } from '../daemon/gateway.ts';

/**
 * Audit entries of callers that proved nothing — no console session, no admin token — are what
 * anyone who reaches the ops port can make, as fast as they are answered: an unauthenticated
 * mutation or admin call is refused in well under a millisecond, and each refusal was a row
 * in the control plane's audit table, for ever. So each address may have `perWindow` of them
 * recorded one by one per `windowMs`; past that they are counted, and when the window ends one
 * entry (`audit.suppressed`, with the count per action) and one warning say how many more were
 * refused. Entries of signed-in callers, and a sign-in that worked, are never held back.
 */
export interface AuditLimitOptions {
  perWindow: number;
  windowMs: number;
  /** Addresses tracked at once; past it the oldest window is closed early. */
  maxAddresses: number;
}

export const AUDIT_LIMIT_DEFAULTS: AuditLimitOptions = {
  perWindow: 30,
  windowMs: 60_000,
  maxAddresses: 10_000,
};

/** What the summary entry says, written by whoever owns the audit store. */
export interface SuppressedSummary {
  address: string;
  suppressed: number;
  /** How many of each action were not recorded. */
  actions: Record<string, number>;
  windowSeconds: number;
}

interface Window {
  recorded: number;
  suppressed: number;
  actions: Record<string, number>;
  timer: NodeJS.Timeout;
}

export class AuditLimit {
  private readonly o: AuditLimitOptions;
  private readonly windows = new Map<string, Window>();
  /** Entries held back so far, over every address (gateway_audit_entries_suppressed_total). */
  suppressedTotal = 0;

  constructor(
    private readonly summarize: (s: SuppressedSummary) => void,
    options: Partial<AuditLimitOptions> = {},
  ) {
    this.o = { ...AUDIT_LIMIT_DEFAULTS, ...options };
  }

  /** Whether an unauthenticated caller's entry from `address` is recorded now. */
  admit(address: string, action: string): boolean {
    let w = this.windows.get(address);
    if (!w) {
      if (this.windows.size >= this.o.maxAddresses) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.close(oldest);
      }
      w = {
        recorded: 0,
        suppressed: 0,
        actions: {},
        timer: setTimeout(() => this.close(address), this.o.windowMs),
      };
      w.timer.unref();
      this.windows.set(address, w);
    }
    if (w.recorded < this.o.perWindow) {
      w.recorded++;
      return true;
    }
    w.suppressed++;
    this.suppressedTotal++;
    w.actions[action] = (w.actions[action] ?? 0) + 1;
    return false;
  }

  /** Ends every window now, writing the summaries owed (tests read them without waiting). */
  closeAll(): void {
    for (const address of [...this.windows.keys()]) this.close(address);
  }

  private close(address: string): void {
    const w = this.windows.get(address);
    if (!w) return;
    clearTimeout(w.timer);
    this.windows.delete(address);
    if (w.suppressed > 0) {
      this.summarize({
        address,
        suppressed: w.suppressed,
        actions: w.actions,
        windowSeconds: Math.round(this.o.windowMs / 1000),
      });
    }
  }
}

const limits = new WeakMap<Gateway, AuditLimit>();

/**
 * The gateway's one limit, shared by the console API's and the admin API's audit writers: its
 * summaries go to the audit log and, as a warning, to the gateway's log.
 */
export function auditLimit(gw: Gateway): AuditLimit {
  let limit = limits.get(gw);
  if (!limit) {
    limit = new AuditLimit((s) => {
      gw.log.warn(
        { remote: s.address, suppressed: s.suppressed, actions: s.actions },
        `audit: ${s.suppressed} more unauthenticated requests from ${s.address} in ${s.windowSeconds} s were refused and not recorded one by one`,
      );
      gw.control.audit
        .record({
          actor: 'anonymous',
          action: 'audit.suppressed',
          target: `address:${s.address}`,
          outcome: 'denied',
          detail: { suppressed: s.suppressed, actions: s.actions, windowSeconds: s.windowSeconds },
          remoteAddr: s.address,
        })
        .catch((err: unknown) => gw.log.error({ err }, 'audit record failed'));
    });
    limits.set(gw, limit);
  }
  return limit;
}
