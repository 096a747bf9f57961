import type { Attributes } from '../../../storage/types.ts';
import { mapLimit } from '../../../util/map-limit.ts';
import type { S3Call } from '../context.ts';
import { S3Error } from '../deps.ts';
import { objectEtag, quoted } from '../etag.ts';
import type { ListedObject } from '../listing.ts';
import { el, isoDate, urlEncodeKey } from '../xml.ts';

/** Arguments common to ListObjects v1 and v2, checked. */
export interface ListArgs {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** Encodes keys and prefixes for the response (identity unless encoding-type=url). */
  encode: (s: string) => string;
  url: boolean;
}

export function parseListArgs(q: ReadonlyMap<string, string>): ListArgs {
  const et = q.get('encoding-type');
  if (et !== undefined && et !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: et,
    });
  }
  return {
    prefix: q.get('prefix') ?? '',
    delimiter: q.get('delimiter') ?? '',
    maxKeys: parseMaxKeys(q.get('max-keys'), 'max-keys'),
    encode: et === 'url' ? urlEncodeKey : (s) => s,
    url: et === 'url',
  };
}

export function parseMaxKeys(v: string | undefined, name: string, cap = 1000): number {
  if (v === undefined) return cap;
  if (!/^\d{1,10}$/.test(v)) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: v.slice(0, 64),
    });
  }
  return Math.min(Number(v), cap);
}

/**
 * Objects whose ETags a page computes at once: a file written over NFS or SMB has its MD5
 * computed at its first listing and kept in a transaction, and concurrent ones share flushes.
 */
const ETAGS_AT_ONCE = 16;

/** A page's `<Contents>` elements; their attributes (ETags) read in one query. */
export async function contentsXml(
  call: S3Call,
  objects: readonly ListedObject[],
  a: ListArgs,
  owner: boolean,
): Promise<string> {
  await call.env.ns.preloadXattrs(objects.map((o) => o.attrs.ino));
  const xml = await mapLimit(objects, ETAGS_AT_ONCE, (o) =>
    objectXml(call, o, a, { tag: 'Contents', owner }),
  );
  return xml.join('');
}

/**
 * One listed object: `<Contents>`, or `<Version>` with `afterKey` (its version id) after the
 * key and, for a kept version, the ETag it had when current.
 */
export async function objectXml(
  call: S3Call,
  o: ListedObject,
  a: ListArgs,
  shape: { tag: string; owner: boolean; afterKey?: string; frozenEtag?: string },
): Promise<string> {
  const { ns } = call.env;
  const attrs: Attributes = o.attrs;
  const xattrs = await ns.listXattrs(attrs.ino).catch(() => new Map<string, Buffer>());
  const etag = await objectEtag(ns, attrs, xattrs, shape.frozenEtag);
  const size = attrs.type === 'dir' ? '0' : String(attrs.size);
  const owner = shape.owner ? ownerXml(attrs.uid) : '';
  const { tag } = shape;
  return `<${tag}>${el('Key', a.encode(o.key))}${shape.afterKey ?? ''}${el('LastModified', isoDate(attrs.mtimeNs))}${el('ETag', quoted(etag))}<Size>${size}</Size>${owner}<StorageClass>STANDARD</StorageClass></${tag}>`;
}

/** Who a uid is in S3's documents: the uid as ID and as name, as the gateway lists owners. */
export function canonicalUserXml(uid: number): string {
  return `${el('ID', String(uid))}${el('DisplayName', String(uid))}`;
}

/** The `<Owner>` of a listed object. */
export function ownerXml(uid: number): string {
  return `<Owner>${canonicalUserXml(uid)}</Owner>`;
}

export function prefixesXml(prefixes: string[], a: ListArgs): string {
  let s = '';
  for (const p of prefixes) s += `<CommonPrefixes>${el('Prefix', a.encode(p))}</CommonPrefixes>`;
  return s;
}
