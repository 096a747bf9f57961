import type { QuotaKind, QuotaRecord } from '../../control/quotas.ts';
import type { Gateway } from '../../daemon/gateway.ts';

export interface QuotaReading {
  kind: QuotaKind;
  id: number;
  limits: Pick<QuotaRecord, 'softBytes' | 'hardBytes' | 'softInodes' | 'hardInodes'>;
  /** Absent when the metadata backend could not answer (its circuit is open, say). */
  usage?: { bytes: bigint; inodes: bigint };
}

/**
 * Quotas and their usage for a scrape. The quota list comes from the control plane at most once
 * per `refreshMs`; usage is read from the namespace on every scrape. The four quota gauges
 * collect concurrently and share one reading. A failing source never fails the scrape: the
 * last quota list is kept, and a usage that cannot be read is left out.
 */
export class QuotaReader {
  private list: QuotaRecord[] = [];
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
    if (performance.now() - this.listedAt >= this.refreshMs) {
      try {
        this.list = await this.gw.control.quotas.list();
      } catch {
        // Keep serving the last list; the control plane's own health shows the failure.
      }
      this.listedAt = performance.now();
    }
    return Promise.all(
      this.list.map(async (q): Promise<QuotaReading> => {
        const reading: QuotaReading = {
          kind: q.kind,
          id: q.subjectId,
          limits: {
            softBytes: q.softBytes,
            hardBytes: q.hardBytes,
            softInodes: q.softInodes,
            hardInodes: q.hardInodes,
          },
        };
        try {
          const u = await this.gw.ns.quotaUsage(q.kind, q.subjectId);
          reading.usage = { bytes: u.bytes, inodes: u.inodes };
        } catch {
          // Usage unknown this time (e.g. the metadata circuit is open).
        }
        return reading;
      }),
    );
  }
}
