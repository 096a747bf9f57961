import type { S3Call, S3Reply } from '../context.ts';
import { bucketEntries } from '../objects.ts';
import { doc, el, isoDate } from '../xml.ts';

/** GET / — the buckets (valid-named top-level directories of s3.root) the caller may open. */
export async function listBuckets(call: S3Call): Promise<S3Reply> {
  const { ns } = call.env;
  let inner = '';
  for (const e of await bucketEntries(call.env, call.cred)) {
    const a = await ns.getattr(e.ino).catch(() => undefined);
    if (!a || (await ns.access(call.cred, a.ino, 1)) === 0) continue;
    inner += `<Bucket>${el('Name', e.name)}${el('CreationDate', isoDate(a.btimeNs))}${el('BucketRegion', call.env.config.region)}</Bucket>`;
  }
  const owner = call.principal
    ? `<Owner>${el('ID', String(call.principal.uid))}${el('DisplayName', call.principal.userName)}</Owner>`
    : '';
  return { body: doc('ListAllMyBucketsResult', `${owner}<Buckets>${inner}</Buckets>`) };
}
