import type { UploadView } from '@claudefs/api';
import { UploadStore } from './store.ts';

/** An incomplete multipart upload, as an operator reads it (`./cfs s3 uploads`, the console). */
export type UploadSummary = UploadView;

/** Every upload in progress, the oldest first. */
export async function uploadSummaries(
  uploads: UploadStore,
  ownerName: (uid: number) => string | null,
): Promise<UploadSummary[]> {
  const out: UploadSummary[] = [];
  for (const u of await uploads.list()) {
    const parts = await uploads.parts(u);
    out.push({
      uploadId: u.uploadId,
      bucket: u.info.bucket,
      key: u.info.key,
      uid: u.info.uid,
      owner: ownerName(u.info.uid),
      initiated: new Date(u.info.initiated).toISOString(),
      lastActivity: new Date(UploadStore.lastActivity(u, parts)).toISOString(),
      parts: parts.length,
      bytes: String(parts.reduce((sum, p) => sum + BigInt(p.size), 0n)),
    });
  }
  return out.sort((a, b) => (a.initiated < b.initiated ? -1 : a.initiated > b.initiated ? 1 : 0));
}
