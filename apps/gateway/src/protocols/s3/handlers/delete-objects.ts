import type { S3Call, S3Reply } from '../context.ts';
import { asS3Error } from '../deps.ts';
import { bucketDir } from '../objects.ts';
import { readSmallBody } from '../store-object.ts';
import { doc, el, parseDeleteRequest } from '../xml.ts';
import { removeKey } from './delete-object.ts';

/** POST /bucket?delete — up to 1,000 keys; per-key errors in the reply; Quiet lists errors only. */
export async function deleteObjects(call: S3Call): Promise<S3Reply> {
  const request = parseDeleteRequest(await readSmallBody(call));
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  let inner = '';
  for (const o of request.objects) {
    try {
      if (o.versionId === undefined || o.versionId === 'null')
        await removeKey(call.env, call.cred, bucket.ino, o.key);
      if (!request.quiet) inner += `<Deleted>${el('Key', o.key)}${el('VersionId', o.versionId)}</Deleted>`;
    } catch (e) {
      const err = asS3Error(e);
      if (err.status >= 500) call.env.log.warn({ err: e, key: o.key }, 'multi-delete failed for one key');
      inner += `<Error>${el('Key', o.key)}${el('VersionId', o.versionId)}${el('Code', err.code)}${el('Message', err.message)}</Error>`;
    }
  }
  return { body: doc('DeleteResult', inner) };
}
