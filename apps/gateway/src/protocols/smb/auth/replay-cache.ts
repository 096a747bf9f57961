/**
 * NTProofStrs of accepted NTLMv2 responses, kept for the window in which a response's timestamp
 * is accepted (MS-NLMP 3.2.5.1.2, MaxLifetime), so the same AUTHENTICATE cannot log on twice.
 * The server challenge is random per exchange, so a replay only verifies against an acceptor
 * that issued the same challenge; this cache is the second line. Insertion order is expiry
 * order (one window for all), so pruning looks at the head only. When full, the oldest entry
 * goes: the bound protects memory, at the price of a shorter memory under a logon flood.
 */
export class ReplayCache {
  private readonly seenAt = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    readonly maxEntries = 100_000,
  ) {}

  get size(): number {
    return this.seenAt.size;
  }

  /** Records key; true when it was already recorded within the window (a replay). */
  checkAndRecord(key: string, nowMs: number): boolean {
    this.prune(nowMs);
    if (this.seenAt.has(key)) return true;
    if (this.seenAt.size >= this.maxEntries) {
      const oldest = this.seenAt.keys().next();
      if (!oldest.done) this.seenAt.delete(oldest.value);
    }
    this.seenAt.set(key, nowMs);
    return false;
  }

  private prune(nowMs: number): void {
    for (const [key, at] of this.seenAt) {
      if (nowMs - at <= this.windowMs) break;
      this.seenAt.delete(key);
    }
  }
}

/** MaxLifetime: how far an NTLMv2 response's timestamp may be from now (Windows uses 36 hours). */
export const NTLM_MAX_LIFETIME_MS = 36 * 60 * 60 * 1000;

/** Shared by every acceptor in the process unless one is given its own. */
export const processReplayCache = new ReplayCache(NTLM_MAX_LIFETIME_MS);
