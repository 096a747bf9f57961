import type { Logger } from '../../../daemon/logger.ts';
import { formatDuration, formatRemaining, formatSize } from '../../../util/units.ts';
import { UploadStore } from './store.ts';

const HOUR = 3_600_000;

/**
 * Aborts multipart uploads that have had no activity for `s3.stale_uploads_expiry` — MinIO's
 * stale_uploads_expiry, S3 lifecycle's AbortIncompleteMultipartUpload — so parts nobody will
 * complete stop holding space (and their owner's quota). Activity is the newest of the upload's
 * start and its parts, re-checked under the upload's lock, so an upload still receiving parts
 * stays. Sweeps every quarter of the expiry (at most hourly); each abort is logged.
 */
export class StaleUploadSweeper {
  /** Since start: uploads aborted and the bytes their parts held (`gateway_s3_stale_uploads_*`). */
  readonly totals = { aborted: 0, freedBytes: 0n };
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private stopped = false;
  /** The expiry the pending timer was set for. */
  private scheduledFor: number | undefined;

  constructor(
    private readonly uploads: UploadStore,
    /** `s3.stale_uploads_expiry` in ms, read at every sweep (a reload applies it); 0: never. */
    private readonly expiryMs: () => number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.schedule();
  }

  /**
   * After a reload: when it changed the expiry, the next sweep comes at the new pace; a reload
   * of anything else leaves the pending sweep where it was.
   */
  reschedule(): void {
    if (this.expiryMs() === this.scheduledFor) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.sweeping) this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  private schedule(): void {
    const expiry = this.expiryMs();
    this.scheduledFor = expiry;
    if (this.stopped || expiry <= 0) return;
    const every = Math.min(HOUR, Math.max(250, Math.floor(expiry / 4)));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sweeping = this.sweep()
        .catch((err: unknown) =>
          this.log.warn({ err }, 'stale multipart upload sweep failed; retrying later'),
        )
        .finally(() => {
          this.sweeping = undefined;
          this.schedule();
        });
    }, every);
    this.timer.unref();
  }

  /** One pass: aborts every upload idle past the expiry; resolves with how many. */
  async sweep(): Promise<number> {
    const expiry = this.expiryMs();
    if (expiry <= 0) return 0;
    const idle = (
      u: Parameters<typeof UploadStore.lastActivity>[0],
      parts: Parameters<typeof UploadStore.lastActivity>[1],
    ) => this.now() - UploadStore.lastActivity(u, parts) > expiry;
    let aborted = 0;
    for (const u of await this.uploads.list()) {
      if (this.stopped) break;
      if (!idle(u, await this.uploads.parts(u))) continue;
      const gone = await this.uploads.abort(u.uploadId, idle);
      if (!gone) continue;
      const freed = gone.parts.reduce((sum, p) => sum + BigInt(p.size), 0n);
      aborted++;
      this.totals.aborted++;
      this.totals.freedBytes += freed;
      const { bucket, key } = gone.upload.info;
      this.log.info(
        {
          upload: u.uploadId,
          bucket,
          key,
          uid: gone.upload.info.uid,
          parts: gone.parts.length,
          freedBytes: String(freed),
        },
        `S3 multipart upload ${u.uploadId} of ${bucket}/${key} aborted: no activity for ${formatRemaining(this.now() - UploadStore.lastActivity(gone.upload, gone.parts))} (s3.stale_uploads_expiry ${formatDuration(expiry)}); ${gone.parts.length} part${gone.parts.length === 1 ? '' : 's'}, ${formatSize(freed)} freed`,
      );
    }
    return aborted;
  }
}
