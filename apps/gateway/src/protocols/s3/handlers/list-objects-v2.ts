import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { listPage } from '../listing.ts';
import { bucketDir } from '../objects.ts';
import { doc, el } from '../xml.ts';
import { contentsXml, parseListArgs, prefixesXml } from './list-args.ts';

const TOKEN_TAG = 'cfs1:';

/** Continuation tokens are opaque to clients: the last key or CommonPrefix returned. */
export function encodeToken(last: string): string {
  return Buffer.from(TOKEN_TAG + last, 'utf8').toString('base64');
}

export function decodeToken(token: string): string {
  const text = Buffer.from(token, 'base64').toString('utf8');
  if (!text.startsWith(TOKEN_TAG) || Buffer.from(text, 'utf8').toString('base64') !== token) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
      ArgumentName: 'continuation-token',
    });
  }
  return text.slice(TOKEN_TAG.length);
}

/** GET /bucket?list-type=2 — ListObjectsV2: continuation tokens, start-after, KeyCount. */
export async function listObjectsV2(call: S3Call): Promise<S3Reply> {
  const a = parseListArgs(call.query);
  const token = call.query.get('continuation-token');
  const startAfter = call.query.get('start-after') ?? '';
  const fetchOwner = call.query.get('fetch-owner') === 'true';
  const after = token !== undefined ? decodeToken(token) : startAfter;
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const page = await listPage(call.env.ns, call.env.listings, call.cred, bucket, {
    prefix: a.prefix,
    after,
    delimiter: a.delimiter,
    maxKeys: a.maxKeys,
  });
  let inner = `${el('Name', call.bucket)}${el('Prefix', a.encode(a.prefix))}`;
  inner += `<KeyCount>${page.objects.length + page.prefixes.length}</KeyCount><MaxKeys>${a.maxKeys}</MaxKeys>`;
  if (a.delimiter !== '') inner += el('Delimiter', a.encode(a.delimiter));
  inner += `<IsTruncated>${page.truncated}</IsTruncated>`;
  if (token !== undefined) inner += el('ContinuationToken', token);
  if (page.truncated && page.last !== undefined) inner += el('NextContinuationToken', encodeToken(page.last));
  if (startAfter !== '') inner += el('StartAfter', a.encode(startAfter));
  if (a.url) inner += '<EncodingType>url</EncodingType>';
  inner += await contentsXml(call, page.objects, a, fetchOwner);
  inner += prefixesXml(page.prefixes, a);
  return { body: doc('ListBucketResult', inner) };
}
