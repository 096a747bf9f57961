import type { S3Call, S3Reply } from '../context.ts';
import { checksumHeaderName } from '../deps.ts';
import { quoted } from '../etag.ts';
import { callerUpload, partNumberOf } from '../multipart/access.ts';
import { recordPart } from '../multipart/record-part.ts';
import { PART_PURPOSE } from '../multipart/store.ts';
import { declaredLength, writeAside } from '../upload.ts';

/** PUT /bucket/key?partNumber&uploadId — the part is a detached file named in the manifest. */
export async function uploadPart(call: S3Call): Promise<S3Reply> {
  const partNumber = partNumberOf(call);
  const expected = declaredLength(call.headers);
  const u = await callerUpload(call);
  const body = call.body();
  const written = await writeAside(call.env.ns, call.cred, body, PART_PURPOSE, u.uploadId, expected);
  await recordPart(call, u, partNumber, written, body.md5Hex);
  const headers: Record<string, string> = { etag: quoted(body.md5Hex) };
  for (const [algorithm, value] of Object.entries(body.checksums)) {
    if (value !== undefined)
      headers[checksumHeaderName(algorithm as Parameters<typeof checksumHeaderName>[0])] = value;
  }
  return { headers };
}
