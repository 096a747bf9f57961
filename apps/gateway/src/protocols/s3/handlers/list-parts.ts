import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { quoted } from '../etag.ts';
import { callerUpload } from '../multipart/access.ts';
import { doc, el, isoDate } from '../xml.ts';
import { parseMaxKeys } from './list-args.ts';

/** GET /bucket/key?uploadId — the recorded parts, paged by part number. */
export async function listParts(call: S3Call): Promise<S3Reply> {
  const maxParts = parseMaxKeys(call.query.get('max-parts'), 'max-parts');
  const markerRaw = call.query.get('part-number-marker') ?? '0';
  if (!/^\d{1,5}$/.test(markerRaw))
    throw new S3Error('InvalidArgument', 'Invalid part number marker', {
      ArgumentName: 'part-number-marker',
    });
  const marker = Number(markerRaw);
  const u = await callerUpload(call);
  const parts = (await call.env.uploads.parts(u)).filter((p) => p.partNumber > marker);
  const page = parts.slice(0, maxParts);
  const truncated = parts.length > page.length;
  let inner = `${el('Bucket', call.bucket)}${el('Key', call.key)}${el('UploadId', u.uploadId)}`;
  inner += `<Initiator>${el('ID', String(u.info.uid))}${el('DisplayName', String(u.info.uid))}</Initiator>`;
  inner += `<Owner>${el('ID', String(u.info.uid))}${el('DisplayName', String(u.info.uid))}</Owner>`;
  inner += `<StorageClass>STANDARD</StorageClass><PartNumberMarker>${marker}</PartNumberMarker>`;
  if (page.length > 0)
    inner += `<NextPartNumberMarker>${page[page.length - 1]!.partNumber}</NextPartNumberMarker>`;
  inner += `<MaxParts>${maxParts}</MaxParts><IsTruncated>${truncated}</IsTruncated>`;
  for (const p of page) {
    inner += `<Part><PartNumber>${p.partNumber}</PartNumber>${el('LastModified', isoDate(p.at))}${el('ETag', quoted(p.md5))}<Size>${p.size}</Size></Part>`;
  }
  return { body: doc('ListPartsResult', inner) };
}
