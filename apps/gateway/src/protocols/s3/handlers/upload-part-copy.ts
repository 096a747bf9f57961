import { createHash } from 'node:crypto';
import type { S3Call, S3Reply } from '../context.ts';
import { openCopySource } from '../copy-source.ts';
import { quoted } from '../etag.ts';
import { callerUpload, partNumberOf } from '../multipart/access.ts';
import { recordPart } from '../multipart/record-part.ts';
import { PART_PURPOSE } from '../multipart/store.ts';
import { parseCopyRange } from '../range.ts';
import { hashing } from '../store-object.ts';
import { fileChunks, writeAside } from '../upload.ts';
import { doc, el, isoDate } from '../xml.ts';

/** PUT /bucket/key?partNumber&uploadId with x-amz-copy-source[-range] — a part copied from an object. */
export async function uploadPartCopy(call: S3Call): Promise<S3Reply> {
  const partNumber = partNumberOf(call);
  const u = await callerUpload(call);
  const src = await openCopySource(call);
  const range = parseCopyRange(call.headers['x-amz-copy-source-range'] as string | undefined, src.size);
  const start = range?.start ?? 0n;
  const end = range?.end ?? src.size - 1n;
  const hash = createHash('md5');
  const chunks =
    end < start ? (async function* () {})() : fileChunks(call.env.ns, call.cred, src.attrs.ino, start, end);
  const written = await writeAside(
    call.env.ns,
    call.cred,
    hashing(chunks, hash),
    PART_PURPOSE,
    u.uploadId,
    end - start + 1n,
  );
  const md5 = hash.digest('hex');
  await recordPart(call, u, partNumber, written, md5);
  return {
    body: doc(
      'CopyPartResult',
      `${el('LastModified', isoDate(written.attrs.mtimeNs))}${el('ETag', quoted(md5))}`,
    ),
  };
}
