import type { Credential } from '../../../storage/types.ts';
import type { S3Call } from '../context.ts';
import { S3Error } from '../deps.ts';
import { noSuchUpload, type Upload } from './store.ts';

/** The upload named by ?uploadId, for this bucket and key, and the caller's (or root's). */
export async function callerUpload(call: S3Call): Promise<Upload> {
  const uploadId = call.query.get('uploadId') ?? '';
  const u = await call.env.uploads.get(uploadId);
  if (u.info.bucket !== call.bucket || u.info.key !== call.key) throw noSuchUpload(uploadId);
  if (!mayUse(call.cred, u)) throw new S3Error('AccessDenied', 'Access Denied');
  return u;
}

export function mayUse(cred: Credential, u: Upload): boolean {
  return cred.uid === 0 || cred.uid === u.info.uid;
}

/** ?partNumber: 1 to 10,000. */
export function partNumberOf(call: S3Call): number {
  const raw = call.query.get('partNumber') ?? '';
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : 0;
  if (n < 1 || n > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: raw.slice(0, 16),
    });
  }
  return n;
}

/** Parts below this size are refused at completion unless last (S3's rule). */
export const MIN_PART_BYTES = 5n * 1024n * 1024n;
