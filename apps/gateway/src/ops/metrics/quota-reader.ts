import type { QuotaKind, QuotaRecord } from '../../control/quotas.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import type { QuotaUsage } from '../../storage/types.ts';
import { quotaEnforcer } from '../quota/feature.ts';

export interface QuotaReading {
  kind: QuotaKind;
  id: number;
  limits: Pick<QuotaRecord, 'softBytes' | 'hardBytes' | 'softInodes' | 'hardInodes'>;
  /** Absent when the metadata backend could not answer (its circuit is open, say). */
  usage?: { bytes: bigint; inodes: bigint };
}

/**
 * Quotas and their usage for a scrape. The quota list is the enforcer's table, which its poll
 * keeps current (without the quota feature: the control plane's, read at most once per
 * `refreshMs`); usage is the ledger's, read in one go on every scrape. The four quota gauges
 * collect concurrently and share one reading. A failing source never fails the scrape: the
 * last quota list is kept, and usage that cannot be read is left out. (Reading each subject's
 * usage on its own made a scrape with 2,000 quotas 2,000 metadata reads.)
 */
export class QuotaReader {
  private list: readonly Readonly<QuotaRecord>[] = [];
  private listedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<QuotaReading[]> | undefined;

  constructor(
    private readonly gw: Gateway,
    private readonly refreshMs = 1000,
  ) {}

  read(): Promise<QuotaReading[]> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<QuotaReading[]> {
    const enforcer = quotaEnforcer(this.gw);
    if (enforcer) {
      this.list = enforcer.records();
    } else if (performance.now() - this.listedAt >= this.refreshMs) {
      try {
        this.list = await this.gw.control.quotas.list();
      } catch {
        // Keep serving the last list; the control plane's own health shows the failure.
      }
      this.listedAt = performance.now();
    }
    if (this.list.length === 0) return [];
    let usage: Map<string, QuotaUsage> | undefined;
    try {
      usage = new Map((await this.gw.ns.allQuotaUsage()).map((u) => [`${u.kind}:${u.id}`, u]));
    } catch {
      // Usage unknown this time (e.g. the metadata circuit is open).
    }
    return this.list.map((q): QuotaReading => {
      const u = usage && (usage.get(`${q.kind}:${q.subjectId}`) ?? { bytes: 0n, inodes: 0n });
      return {
        kind: q.kind,
        id: q.subjectId,
        limits: {
          softBytes: q.softBytes,
          hardBytes: q.hardBytes,
          softInodes: q.softInodes,
          hardInodes: q.hardInodes,
        },
        ...(u ? { usage: { bytes: u.bytes, inodes: u.inodes } } : {}),
      };
    });
  }
}
