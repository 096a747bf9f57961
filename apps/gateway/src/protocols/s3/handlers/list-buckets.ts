import type { S3Call, S3Reply } from '../context.ts';
import { isValidBucketName } from '../keys.ts';
import { doc, el, isoDate } from '../xml.ts';

/** GET / — the buckets (valid-named top-level directories of s3.root) the caller may open. */
export async function listBuckets(call: S3Call): Promise<S3Reply> {
  const { ns, rootIno } = call.env;
  let inner = '';
  for (let cookie = 0n; ; ) {
    const page = await ns.readdir(call.cred, rootIno, cookie, 1024);
    const names = page.entries.filter((e) => e.type === 'dir' && isValidBucketName(e.name));
    for (const e of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const a = await ns.getattr(e.ino).catch(() => undefined);
      if (!a || (await ns.access(call.cred, a.ino, 1)) === 0) continue;
      inner += `<Bucket>${el('Name', e.name)}${el('CreationDate', isoDate(a.btimeNs))}${el('BucketRegion', call.env.config.region)}</Bucket>`;
    }
    if (page.eof || page.entries.length === 0) break;
    cookie = page.entries[page.entries.length - 1]!.cookie;
  }
  const owner = call.principal
    ? `<Owner>${el('ID', String(call.principal.uid))}${el('DisplayName', call.principal.userName)}</Owner>`
    : '';
  return { body: doc('ListAllMyBucketsResult', `${owner}<Buckets>${inner}</Buckets>`) };
}
