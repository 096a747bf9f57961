import type { S3Call, S3Reply } from '../context.ts';
import { callerUpload } from '../multipart/access.ts';
import { noSuchUpload } from '../multipart/store.ts';

/** DELETE /bucket/key?uploadId — the parts' files and the manifest go. */
export async function abortMultipartUpload(call: S3Call): Promise<S3Reply> {
  const u = await callerUpload(call);
  if (!(await call.env.uploads.abort(u.uploadId))) throw noSuchUpload(u.uploadId);
  return { status: 204 };
}
