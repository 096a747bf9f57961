import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { S3Error } from './deps.ts';
import { doc, el, list, malformed, parseXml, text } from './xml.ts';

/**
 * Object and bucket tags (S3's "Categorizing your storage using tags"): key–value pairs kept
 * with the object's or the bucket's inode in one attribute, as JSON pairs in the order given.
 * Setting them is an annotation: it changes neither the object's ETag nor its Last-Modified.
 */
export const TAGS_XATTR = 's3.tags';

export interface Tag {
  key: string;
  value: string;
}

/** S3's limits: 10 tags on an object, 50 on a bucket. */
export const MAX_OBJECT_TAGS = 10;
export const MAX_BUCKET_TAGS = 50;
/** Letters, digits and spaces in any script, and + - = . _ : / @ (S3's tag character set). */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

const invalidTag = (message: string) => new S3Error('InvalidTag', message);

/** Refuses what S3 refuses: too many tags, repeated keys, empty, long, reserved or odd keys and values. */
export function checkTags(tags: readonly Tag[], max: number, what: 'Object' | 'Bucket'): void {
  if (tags.length > max) throw invalidTag(`${what} tags cannot be greater than ${max}`);
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    const keyChars = [...key].length;
    if (keyChars === 0 || keyChars > 128)
      throw invalidTag('The TagKey you have provided is invalid (1 to 128 characters)');
    if ([...value].length > 256) throw invalidTag('The TagValue you have provided is too long, max 256');
    if (key.toLowerCase().startsWith('aws:')) throw invalidTag('Your TagKey cannot be prefixed with aws:');
    if (!TAG_TEXT.test(key)) throw invalidTag('The TagKey you have provided is invalid');
    if (!TAG_TEXT.test(value)) throw invalidTag('The TagValue you have provided is invalid');
    if (seen.has(key)) throw invalidTag('Cannot provide multiple Tags with the same key');
    seen.add(key);
  }
}

/** A `Tagging` document (PutObjectTagging, PutBucketTagging). */
export function parseTagging(body: string, max: number, what: 'Object' | 'Bucket'): Tag[] {
  const root = parseXml(body, 'Tagging');
  const set = root.TagSet;
  if (set === undefined) throw malformed('no <TagSet>');
  const tags = (
    typeof set === 'object' && set !== null ? list(set as Record<string, unknown>, 'Tag') : []
  ).map((t) => {
    const key = text(t, 'Key');
    const value = text(t, 'Value');
    if (key === undefined || value === undefined) throw malformed('<Tag> needs <Key> and <Value>');
    return { key, value };
  });
  checkTags(tags, max, what);
  return tags;
}

/** `x-amz-tagging: k1=v1&k2=v2` (URL-encoded) on PutObject, CopyObject, CreateMultipartUpload. */
export function tagsFromHeader(h: IncomingHttpHeaders): Tag[] | undefined {
  const raw = h['x-amz-tagging'];
  if (raw === undefined) return undefined;
  const tags: Tag[] = [];
  for (const pair of String(raw).split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    try {
      const key = decodeURIComponent((at < 0 ? pair : pair.slice(0, at)).replaceAll('+', ' '));
      const value = at < 0 ? '' : decodeURIComponent(pair.slice(at + 1).replaceAll('+', ' '));
      tags.push({ key, value });
    } catch {
      throw new S3Error('InvalidArgument', 'The header x-amz-tagging is not URL-encoded.', {
        ArgumentName: 'x-amz-tagging',
      });
    }
  }
  checkTags(tags, MAX_OBJECT_TAGS, 'Object');
  return tags;
}

export function encodeTags(tags: readonly Tag[]): Buffer {
  return Buffer.from(JSON.stringify(tags.map((t) => [t.key, t.value])));
}

/** The tags an inode's attributes hold (none when the attribute is absent or not ours). */
export function decodeTags(raw: Buffer | undefined): Tag[] {
  if (!raw) return [];
  try {
    const pairs = JSON.parse(raw.toString()) as unknown;
    if (!Array.isArray(pairs)) return [];
    return pairs.flatMap((p) =>
      Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string'
        ? [{ key: p[0], value: p[1] }]
        : [],
    );
  } catch {
    return [];
  }
}

export function taggingXml(tags: readonly Tag[]): string {
  return doc(
    'Tagging',
    `<TagSet>${tags.map((t) => `<Tag>${el('Key', t.key)}${el('Value', t.value)}</Tag>`).join('')}</TagSet>`,
  );
}

/** GET and HEAD say how many tags an object has (x-amz-tagging-count), when it has any. */
export function tagCountHeader(xattrs: ReadonlyMap<string, Buffer>, out: OutgoingHttpHeaders): void {
  const n = decodeTags(xattrs.get(TAGS_XATTR)).length;
  if (n > 0) out['x-amz-tagging-count'] = String(n);
}
