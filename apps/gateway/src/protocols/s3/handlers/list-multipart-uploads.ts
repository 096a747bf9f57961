import type { S3Call, S3Reply } from '../context.ts';
import { compareKeys } from '../keys.ts';
import { mayUse } from '../multipart/access.ts';
import { bucketDir } from '../objects.ts';
import { doc, el, isoDate } from '../xml.ts';
import { parseListArgs, parseMaxKeys } from './list-args.ts';

/**
 * GET /bucket?uploads — the caller's uploads in progress, by key, then by upload id (the
 * order `upload-id-marker` pages in; ids begin with their initiation time, so this is
 * initiation order too). After a page that ended on a common prefix (NextKeyMarker is that
 * prefix), the next page starts past every key under it.
 */
export async function listMultipartUploads(call: S3Call): Promise<S3Reply> {
  const a = parseListArgs(call.query);
  const maxUploads = parseMaxKeys(call.query.get('max-uploads'), 'max-uploads');
  const keyMarker = call.query.get('key-marker') ?? '';
  const idMarker = call.query.get('upload-id-marker') ?? '';
  const markerIsPrefix =
    a.delimiter !== '' &&
    keyMarker.length > a.prefix.length &&
    keyMarker.startsWith(a.prefix) &&
    keyMarker.indexOf(a.delimiter, a.prefix.length) === keyMarker.length - a.delimiter.length;
  await bucketDir(call.env, call.cred, call.bucket);
  const all = (await call.env.uploads.list())
    .filter((u) => u.info.bucket === call.bucket && u.info.key.startsWith(a.prefix) && mayUse(call.cred, u))
    .filter((u) => {
      if (markerIsPrefix && u.info.key.startsWith(keyMarker)) return false;
      const c = compareKeys(u.info.key, keyMarker);
      return c > 0 || (c === 0 && idMarker !== '' && u.uploadId > idMarker);
    })
    .sort((x, y) => compareKeys(x.info.key, y.info.key) || (x.uploadId < y.uploadId ? -1 : 1));
  let items = '';
  let prefixes = '';
  let count = 0;
  let truncated = false;
  let nextKey = '';
  let nextId = '';
  let lastPrefix: string | undefined;
  for (const u of all) {
    let cp: string | undefined;
    if (a.delimiter !== '') {
      const at = u.info.key.indexOf(a.delimiter, a.prefix.length);
      if (at >= 0) cp = u.info.key.slice(0, at + a.delimiter.length);
    }
    if (cp !== undefined && cp === lastPrefix) continue;
    if (count === maxUploads) {
      truncated = true;
      break;
    }
    count++;
    if (cp !== undefined) {
      lastPrefix = cp;
      prefixes += `<CommonPrefixes>${el('Prefix', a.encode(cp))}</CommonPrefixes>`;
      nextKey = cp;
      nextId = '';
      continue;
    }
    nextKey = u.info.key;
    nextId = u.uploadId;
    const who = `${el('ID', String(u.info.uid))}${el('DisplayName', String(u.info.uid))}`;
    items += `<Upload>${el('Key', a.encode(u.info.key))}${el('UploadId', u.uploadId)}<Initiator>${who}</Initiator><Owner>${who}</Owner><StorageClass>STANDARD</StorageClass>${el('Initiated', isoDate(u.info.initiated))}</Upload>`;
  }
  let inner = `${el('Bucket', call.bucket)}${el('KeyMarker', a.encode(keyMarker))}${el('UploadIdMarker', idMarker)}`;
  if (truncated) inner += `${el('NextKeyMarker', a.encode(nextKey))}${el('NextUploadIdMarker', nextId)}`;
  inner += `${el('Prefix', a.encode(a.prefix))}`;
  if (a.delimiter !== '') inner += el('Delimiter', a.encode(a.delimiter));
  inner += `<MaxUploads>${maxUploads}</MaxUploads><IsTruncated>${truncated}</IsTruncated>`;
  if (a.url) inner += '<EncodingType>url</EncodingType>';
  return { body: doc('ListMultipartUploadsResult', inner + items + prefixes) };
}
