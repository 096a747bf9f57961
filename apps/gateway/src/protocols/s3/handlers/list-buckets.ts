import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { bucketEntries } from '../objects.ts';
import { doc, el, isoDate } from '../xml.ts';
import { decodeToken, encodeToken } from './list-objects-v2.ts';

/** S3's bounds on `max-buckets` (ListBuckets, API Reference). */
const MAX_BUCKETS = 10_000;

/** ListBuckets' query, checked: what SDK paginators and `aws s3api list-buckets` send. */
interface ListBucketsArgs {
  prefix: string;
  /** The last bucket of the page before (continuation-token); '' from the start. */
  after: string;
  /** Undefined: every bucket, in one answer. */
  max: number | undefined;
  /** A bucket-region other than the gateway's, where no bucket is. */
  elsewhere: boolean;
}

function parseMaxBuckets(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d{1,5}$/.test(v) ? Number(v) : 0;
  if (n < 1 || n > MAX_BUCKETS)
    throw new S3Error('InvalidArgument', `max-buckets must be between 1 and ${MAX_BUCKETS}.`, {
      ArgumentName: 'max-buckets',
      ArgumentValue: v.slice(0, 64),
    });
  return n;
}

function parseListBucketsArgs(q: ReadonlyMap<string, string>, region: string): ListBucketsArgs {
  const token = q.get('continuation-token');
  const bucketRegion = q.get('bucket-region');
  return {
    prefix: q.get('prefix') ?? '',
    after: token === undefined ? '' : decodeToken(token),
    max: parseMaxBuckets(q.get('max-buckets')),
    elsewhere: bucketRegion !== undefined && bucketRegion !== region,
  };
}

/**
 * GET / — the buckets (valid-named top-level directories of s3.root) the caller may open, in
 * name order: those starting with `prefix`, after the `continuation-token`'s, at most
 * `max-buckets`; a `ContinuationToken` when more follow. Every bucket is in the gateway's one
 * region.
 */
export async function listBuckets(call: S3Call): Promise<S3Reply> {
  const { ns, config } = call.env;
  const a = parseListBucketsArgs(call.query, config.region);
  let inner = '';
  let listed = 0;
  let last = '';
  let more = false;
  const entries = a.elsewhere ? [] : await bucketEntries(call.env, call.cred);
  for (const e of entries) {
    if (!e.name.startsWith(a.prefix) || e.name <= a.after) continue;
    const attrs = await ns.getattr(e.ino).catch(() => undefined);
    if (!attrs || (await ns.access(call.cred, attrs.ino, 1)) === 0) continue;
    if (listed === a.max) {
      more = true;
      break;
    }
    inner += `<Bucket>${el('Name', e.name)}${el('CreationDate', isoDate(attrs.btimeNs))}${el('BucketRegion', config.region)}</Bucket>`;
    listed++;
    last = e.name;
  }
  const owner = call.principal
    ? `<Owner>${el('ID', String(call.principal.uid))}${el('DisplayName', call.principal.userName)}</Owner>`
    : '';
  let tail = more ? el('ContinuationToken', encodeToken(last)) : '';
  if (call.query.has('prefix')) tail += el('Prefix', a.prefix);
  return { body: doc('ListAllMyBucketsResult', `${owner}<Buckets>${inner}</Buckets>${tail}`) };
}
