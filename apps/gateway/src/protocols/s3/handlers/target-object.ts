import type { Attributes } from '../../../storage/types.ts';
import type { S3Call } from '../context.ts';
import { S3Error } from '../deps.ts';
import { findObject, readKeyPath } from '../objects.ts';
import { findVersion } from '../versioning/reads.ts';
import { checkVersionId } from '../versioning/writes.ts';
import { openedBucket } from './head-bucket.ts';

/** R_OK and W_OK of namespace access checks. */
export const READ = 4;
export const WRITE = 2;

/**
 * The object a subresource request names (`?tagging`, `?retention`, `?legal-hold`) — or with
 * `?versionId=` that version of it — when the caller may do `mask` to it (read or write; 0: the
 * namespace decides, as a chmod's owner check does), with its bucket and the version header of
 * the answer (and, for a kept version, the ETag frozen when it was kept).
 */
export async function targetObject(
  call: S3Call,
  mask: number,
): Promise<{ attrs: Attributes; bucket: Attributes; headers: Record<string, string>; etag?: string }> {
  const bucket = await openedBucket(call);
  const versionId = call.query.get('versionId');
  const kp = readKeyPath(call.key, versionId);
  const { attrs, etag }: { attrs: Attributes; etag?: string } =
    versionId === undefined
      ? await findObject(call.env, call.cred, bucket.ino, call.key, kp)
      : await findVersion(
          call.env,
          call.cred,
          call.method,
          bucket.ino,
          call.key,
          kp,
          checkVersionId(versionId),
        );
  if (mask !== 0 && (await call.env.ns.access(call.cred, attrs.ino, mask)) === 0)
    throw new S3Error('AccessDenied', 'Access Denied');
  return {
    attrs,
    bucket,
    headers: versionId === undefined ? {} : { 'x-amz-version-id': versionId },
    ...(etag ? { etag } : {}),
  };
}
