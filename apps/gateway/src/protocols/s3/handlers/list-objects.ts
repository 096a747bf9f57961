import type { S3Call, S3Reply } from '../context.ts';
import { listPage } from '../listing.ts';
import { bucketDir } from '../objects.ts';
import { doc, el } from '../xml.ts';
import { contentsXml, parseListArgs, prefixesXml } from './list-args.ts';

/** GET /bucket — ListObjects (version 1): marker paging. */
export async function listObjects(call: S3Call): Promise<S3Reply> {
  const a = parseListArgs(call.query);
  const marker = call.query.get('marker') ?? '';
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const page = await listPage(call.env.ns, call.env.listings, call.cred, bucket, {
    prefix: a.prefix,
    after: marker,
    delimiter: a.delimiter,
    maxKeys: a.maxKeys,
  });
  let inner = `${el('Name', call.bucket)}${el('Prefix', a.encode(a.prefix))}${el('Marker', a.encode(marker))}<MaxKeys>${a.maxKeys}</MaxKeys>`;
  if (a.delimiter !== '') inner += el('Delimiter', a.encode(a.delimiter));
  inner += `<IsTruncated>${page.truncated}</IsTruncated>`;
  if (page.truncated && page.last !== undefined) inner += el('NextMarker', a.encode(page.last));
  if (a.url) inner += '<EncodingType>url</EncodingType>';
  inner += await contentsXml(call, page.objects, a, true);
  inner += prefixesXml(page.prefixes, a);
  return { body: doc('ListBucketResult', inner) };
}
