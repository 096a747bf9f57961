import { UploadStore } from './store.ts';

/** An incomplete multipart upload, as an operator reads it (`./cfs s3 uploads`). */
export interface UploadSummary {
  uploadId: string;
  bucket: string;
  key: string;
  uid: number;
  /** The owner's account name, null for a uid no account holds. */
  owner: string | null;
  /** ISO 8601. */
  initiated: string;
  /** ISO 8601: its start or its newest part. */
  lastActivity: string;
  parts: number;
  /** Bytes its parts hold (and charge to its owner's quota), a decimal string. */
  bytes: string;
}

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
