import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { listPage } from '../listing.ts';
import { doc, el } from '../xml.ts';
import { openedBucket } from './head-bucket.ts';
import { objectXml, parseListArgs, prefixesXml } from './list-args.ts';

/** The one version an object has in a bucket without versioning (S3 calls it "null"). */
const NULL_VERSION = 'null';

/**
 * GET /bucket?versions — ListObjectVersions. Versioning is never enabled here, so each object
 * has exactly one version, the current one, with the id "null", as S3 lists the objects of a
 * bucket that never had versioning. Scripts that empty a bucket version by version (and then
 * DELETE with `versionId=null`) work as they do against S3.
 */
export async function listObjectVersions(call: S3Call): Promise<S3Reply> {
  const a = parseListArgs(call.query);
  const keyMarker = call.query.get('key-marker') ?? '';
  const versionMarker = call.query.get('version-id-marker');
  if (versionMarker !== undefined && keyMarker === '')
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {
      ArgumentName: 'version-id-marker',
      ArgumentValue: versionMarker.slice(0, 64),
    });
  if (versionMarker !== undefined && versionMarker !== '' && versionMarker !== NULL_VERSION)
    throw new S3Error('InvalidArgument', 'Invalid version id specified', {
      ArgumentName: 'version-id-marker',
      ArgumentValue: versionMarker.slice(0, 64),
    });
  const bucket = await openedBucket(call);
  // A key's only version is "null": listing after (key, null) is listing after the key.
  const page = await listPage(call.env.ns, call.env.listings, call.cred, bucket, {
    prefix: a.prefix,
    after: keyMarker,
    delimiter: a.delimiter,
    maxKeys: a.maxKeys,
  });
  let inner = `${el('Name', call.bucket)}${el('Prefix', a.encode(a.prefix))}${el('KeyMarker', a.encode(keyMarker))}${el('VersionIdMarker', versionMarker ?? '')}<MaxKeys>${a.maxKeys}</MaxKeys>`;
  if (a.delimiter !== '') inner += el('Delimiter', a.encode(a.delimiter));
  inner += `<IsTruncated>${page.truncated}</IsTruncated>`;
  if (page.truncated && page.last !== undefined)
    inner += `${el('NextKeyMarker', a.encode(page.last))}${el('NextVersionIdMarker', NULL_VERSION)}`;
  if (a.url) inner += '<EncodingType>url</EncodingType>';
  const afterKey = `${el('VersionId', NULL_VERSION)}<IsLatest>true</IsLatest>`;
  for (const o of page.objects)
    inner += await objectXml(call, o, a, { tag: 'Version', owner: true, afterKey });
  inner += prefixesXml(page.prefixes, a);
  return { body: doc('ListVersionsResult', inner) };
}
