import type { Attributes, Credential } from '../../../storage/types.ts';
import type { S3Env } from '../context.ts';
import { S3Error } from '../deps.ts';
import { isS3Error } from '../errors.ts';
import type { KeyPath } from '../keys.ts';
import { findObject } from '../objects.ts';
import { versionIdOf } from './store.ts';

/**
 * One version of an object (`?versionId=`): the current object when it has that id, else a kept
 * one. A delete marker cannot be read (405, as S3 answers); an id the key never had is
 * NoSuchVersion.
 */
export async function findVersion(
  env: S3Env,
  cred: Credential,
  method: string,
  bucketIno: bigint,
  key: string,
  kp: KeyPath,
  versionId: string,
): Promise<{ attrs: Attributes; etag?: string }> {
  const { ns, versions } = env;
  const current = await findObject(env, cred, bucketIno, key, kp).catch((e: unknown) => {
    if (isS3Error(e, 'NoSuchKey')) return undefined;
    throw e;
  });
  if (current && versionIdOf(await ns.listXattrs(current.attrs.ino)) === versionId) return current;
  const kept = kp.marker ? undefined : await versions.find(bucketIno, kp, versionId);
  if (!kept) throw new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId }, {});
  if (kept.marker)
    throw new S3Error(
      'MethodNotAllowed',
      undefined,
      { Method: method, ResourceType: 'DeleteMarker' },
      {
        headers: {
          'x-amz-delete-marker': 'true',
          'x-amz-version-id': versionId,
          'last-modified': new Date(Number(kept.attrs.mtimeNs / 1_000_000n)).toUTCString(),
        },
      },
    );
  // A kept version's ETag was frozen when it was kept (its change id moved since).
  return { attrs: kept.attrs, etag: kept.etag };
}
