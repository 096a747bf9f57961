import { type Attributes, ROOT } from '../../../storage/types.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { isS3Error } from '../errors.ts';
import { compareKeys, keyPath } from '../keys.ts';
import { BucketWalker, commonPrefixOf, type ListedObject, type WalkOptions } from '../listing.ts';
import { findObject } from '../objects.ts';
import { VERSION_TREE, versionIdOf } from '../versioning/store.ts';
import { checkVersionId } from '../versioning/writes.ts';
import { doc, el, isoDate } from '../xml.ts';
import { openedBucket } from './head-bucket.ts';
import { type ListArgs, objectXml, ownerXml, parseListArgs, prefixesXml } from './list-args.ts';

/** One version as listed: the key's current object, a kept version or a delete marker. */
interface ListedVersion {
  key: string;
  versionId: string;
  attrs: Attributes;
  latest: boolean;
  marker: boolean;
  /** A kept version's ETag, frozen when it was kept. */
  etag?: string;
}

/**
 * GET /bucket?versions — ListObjectVersions: for each key in key order, its current object
 * (the latest version, "null" when written without versioning) and then its kept versions and
 * delete markers, the newest first. Versions and CommonPrefixes count against max-keys; a page
 * may end within a key's versions (NextKeyMarker with NextVersionIdMarker). A bucket that never
 * had versioning lists each object once, as "null", as S3 does.
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
  if (versionMarker !== undefined && versionMarker !== '') checkVersionId(versionMarker, 'version-id-marker');
  const bucket = await openedBucket(call);
  const page = await versionPage(call, bucket, a, keyMarker, versionMarker || undefined);

  let inner = `${el('Name', call.bucket)}${el('Prefix', a.encode(a.prefix))}${el('KeyMarker', a.encode(keyMarker))}${el('VersionIdMarker', versionMarker ?? '')}<MaxKeys>${a.maxKeys}</MaxKeys>`;
  if (a.delimiter !== '') inner += el('Delimiter', a.encode(a.delimiter));
  inner += `<IsTruncated>${page.truncated}</IsTruncated>`;
  if (page.truncated && page.next) {
    inner += el('NextKeyMarker', a.encode(page.next.key));
    if (page.next.versionId !== undefined) inner += el('NextVersionIdMarker', page.next.versionId);
  }
  if (a.url) inner += '<EncodingType>url</EncodingType>';
  await call.env.ns.preloadXattrs(page.versions.map((v) => v.attrs.ino));
  for (const v of page.versions) inner += await versionXml(call, v, a);
  inner += prefixesXml(page.prefixes, a);
  return { body: doc('ListVersionsResult', inner) };
}

async function versionXml(call: S3Call, v: ListedVersion, a: ListArgs): Promise<string> {
  const id = `${el('VersionId', v.versionId)}<IsLatest>${v.latest}</IsLatest>`;
  if (v.marker)
    return `<DeleteMarker>${el('Key', a.encode(v.key))}${id}${el('LastModified', isoDate(v.attrs.mtimeNs))}${ownerXml(v.attrs.uid)}</DeleteMarker>`;
  const shape = { tag: 'Version', owner: true, afterKey: id };
  return await objectXml(call, v, a, v.etag === undefined ? shape : { ...shape, frozenEtag: v.etag });
}

interface VersionPage {
  versions: ListedVersion[];
  prefixes: string[];
  truncated: boolean;
  /** Where the next page starts: a key (or CommonPrefix) and, within a key, a version. */
  next?: { key: string; versionId?: string };
}

async function versionPage(
  call: S3Call,
  bucket: Attributes,
  a: ListArgs,
  keyMarker: string,
  versionMarker: string | undefined,
): Promise<VersionPage> {
  const page: VersionPage = { versions: [], prefixes: [], truncated: false };
  if (a.maxKeys === 0) return page;
  const full = () => page.versions.length + page.prefixes.length >= a.maxKeys;
  /** Adds a key's versions; false when the page filled up before the last. */
  const add = (versions: ListedVersion[]): boolean => {
    for (const v of versions) {
      if (full()) {
        page.truncated = true;
        return false;
      }
      page.versions.push(v);
      page.next = { key: v.key, versionId: v.versionId };
    }
    return true;
  };

  // The rest of the key a previous page ended within.
  if (versionMarker !== undefined && keyMarker.startsWith(a.prefix)) {
    const rest = await restOfKey(call, bucket, keyMarker, versionMarker);
    if (!add(rest)) return page;
  }

  const opts: WalkOptions = { prefix: a.prefix, after: keyMarker };
  const keys = new MergedKeys(call, bucket, opts);
  for await (const k of keys.walk()) {
    const cp = commonPrefixOf(k.key, a.prefix, a.delimiter);
    if (cp !== undefined) {
      keys.skip = cp;
      if (compareKeys(cp, keyMarker) <= 0) continue;
      if (full()) {
        page.truncated = true;
        break;
      }
      page.prefixes.push(cp);
      page.next = { key: cp };
      continue;
    }
    if (!add(await versionsOf(call, k))) break;
  }
  return page;
}

/** The versions of the marker's key listed after the marker's version. */
async function restOfKey(
  call: S3Call,
  bucket: Attributes,
  key: string,
  versionMarker: string,
): Promise<ListedVersion[]> {
  let kp: ReturnType<typeof keyPath>;
  try {
    kp = keyPath(key);
  } catch {
    return [];
  }
  const { env } = call;
  const current = await findObject(env, call.cred, bucket.ino, key, kp).then(
    (f) => f.attrs,
    (e: unknown) => {
      if (isS3Error(e, 'NoSuchKey')) return undefined;
      throw e;
    },
  );
  const container = kp.marker ? undefined : await env.versions.container(bucket.ino, kp, false);
  const all = await versionsOf(call, { key, current, container });
  const at = all.findIndex((v) => v.versionId === versionMarker);
  return at < 0 ? [] : all.slice(at + 1);
}

interface KeyEntry {
  key: string;
  /** The object in the bucket tree. */
  current?: Attributes | undefined;
  /** The key's container in the version tree. */
  container?: Attributes | undefined;
}

async function versionsOf(call: S3Call, k: KeyEntry): Promise<ListedVersion[]> {
  const { ns, versions } = call.env;
  const out: ListedVersion[] = [];
  if (k.current) {
    const versionId = versionIdOf(await ns.listXattrs(k.current.ino).catch(() => new Map()));
    out.push({ key: k.key, versionId, attrs: k.current, latest: true, marker: false });
  }
  if (k.container) {
    for (const v of await versions.versionsIn(k.container, k.current?.ino)) {
      const listed: ListedVersion = {
        key: k.key,
        versionId: v.versionId,
        attrs: v.attrs,
        latest: false,
        marker: v.marker,
      };
      if (v.etag !== undefined) listed.etag = v.etag;
      out.push(listed);
    }
  }
  // No current object: a delete marker heading the versions is the latest.
  if (!k.current && out[0]?.marker) out[0].latest = true;
  return out;
}

/**
 * The keys of the bucket tree and of its version tree, merged in key order: each key once,
 * with its current object and its versions' container where it has them.
 */
class MergedKeys {
  private readonly objects: BucketWalker;
  private readonly kept: BucketWalker;
  private skipped: string | undefined;

  constructor(
    private readonly call: S3Call,
    private readonly bucket: Attributes,
    opts: WalkOptions,
  ) {
    const { ns, listings } = call.env;
    this.objects = new BucketWalker(ns, listings, call.cred, opts);
    // The version tree is the gateway's; who may list the bucket may list its versions.
    this.kept = new BucketWalker(ns, listings, ROOT, opts, VERSION_TREE);
  }

  /** Jump past every key under a CommonPrefix already reported. */
  set skip(prefix: string) {
    this.skipped = prefix;
    this.objects.skip = prefix;
    this.kept.skip = prefix;
  }

  async *walk(): AsyncGenerator<KeyEntry> {
    const root = await this.call.env.versions.bucketRoot(this.bucket.ino);
    const a = this.objects.walk(this.bucket);
    const b = root ? this.kept.walk(root) : none();
    let x = await a.next();
    let y = await b.next();
    while (!x.done || !y.done) {
      if (!x.done && this.inSkip(x.value.key)) {
        x = await a.next();
        continue;
      }
      if (!y.done && this.inSkip(y.value.key)) {
        y = await b.next();
        continue;
      }
      const c = x.done ? 1 : y.done ? -1 : compareKeys(x.value.key, y.value.key);
      if (c < 0 && !x.done) {
        yield { key: x.value.key, current: x.value.attrs };
        x = await a.next();
      } else if (c > 0 && !y.done) {
        yield { key: y.value.key, container: y.value.attrs };
        y = await b.next();
      } else if (!x.done && !y.done) {
        yield { key: x.value.key, current: x.value.attrs, container: y.value.attrs };
        x = await a.next();
        y = await b.next();
      }
    }
  }

  private inSkip(key: string): boolean {
    return this.skipped !== undefined && key.startsWith(this.skipped);
  }
}

async function* none(): AsyncGenerator<ListedObject> {}
