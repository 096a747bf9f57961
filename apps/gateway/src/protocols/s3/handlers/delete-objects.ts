import type { S3Call, S3Reply } from '../context.ts';
import { deleteCondition } from '../delete-condition.ts';
import { asS3Error } from '../deps.ts';
import { bucketDir } from '../objects.ts';
import { policyAllows } from '../policy/bucket-policy.ts';
import { readSmallBody } from '../store-object.ts';
import type { VersionedDelete } from '../versioning/writes.ts';
import { doc, el, parseDeleteRequest } from '../xml.ts';
import { bypassGranted, deleteKey } from './delete-object.ts';

/** POST /bucket?delete — up to 1,000 keys; per-key errors in the reply; Quiet lists errors only. */
export async function deleteObjects(call: S3Call): Promise<S3Reply> {
  const request = parseDeleteRequest(await readSmallBody(call));
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const bypass = bypassGranted(call, bucket);
  let inner = '';
  for (const o of request.objects) {
    try {
      // The bucket policy decides key by key, as S3's does.
      await policyAllows(call, 'DeleteObject', call.bucket, o.key, o.versionId !== undefined);
      const condition = deleteCondition({
        etags: o.condition?.etag,
        size: o.condition?.size,
        lastModified: o.condition?.lastModified,
        names: { etags: 'ETag', size: 'Size', lastModified: 'LastModifiedTime' },
      });
      const done = await deleteKey(call.env, call.cred, bucket, o.key, o.versionId, bypass, condition);
      if (!request.quiet)
        inner += `<Deleted>${el('Key', o.key)}${el('VersionId', o.versionId)}${deletedXml(o, done)}</Deleted>`;
    } catch (e) {
      const err = asS3Error(e);
      if (err.status >= 500) call.env.log.warn({ err: e, key: o.key }, 'multi-delete failed for one key');
      inner += `<Error>${el('Key', o.key)}${el('VersionId', o.versionId)}${el('Code', err.code)}${el('Message', err.message)}</Error>`;
    }
  }
  return { body: doc('DeleteResult', inner) };
}

/** What a delete in a versioned bucket did: the marker it made, or that it removed one. */
function deletedXml(o: { versionId?: string }, done: VersionedDelete | undefined): string {
  if (!done?.marker) return '';
  if (o.versionId !== undefined) return '<DeleteMarker>true</DeleteMarker>';
  return `<DeleteMarker>true</DeleteMarker>${el('DeleteMarkerVersionId', done.versionId)}`;
}
