import type { S3Call, S3Reply } from '../context.ts';
import { callerUpload } from '../multipart/access.ts';

/** DELETE /bucket/key?uploadId — the parts' files and the manifest go. */
export async function abortMultipartUpload(call: S3Call): Promise<S3Reply> {
  const first = await callerUpload(call);
  const { uploads, ns } = call.env;
  await uploads.exclusive(first.uploadId, async () => {
    const u = await uploads.get(first.uploadId);
    for (const p of await uploads.parts(u)) await ns.removeDetached(BigInt(p.ino)).catch(() => {});
    await uploads.remove(u);
  });
  return { status: 204 };
}
