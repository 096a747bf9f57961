import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { aclOnWrite } from '../acl.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { quoted } from '../etag.ts';
import { keyPath } from '../keys.ts';
import { metadataFromHeaders, refuseUnsupportedWriteHeaders } from '../metadata.ts';
import { newObjectLock } from '../object-lock/retention.ts';
import { bucketDir } from '../objects.ts';
import { policyAllows } from '../policy/bucket-policy.ts';
import { hashing, linkObject, versionHeader } from '../store-object.ts';
import { encodeTags, MAX_OBJECT_TAGS, parseTagging, TAGS_XATTR } from '../tagging.ts';
import { writeAside } from '../upload.ts';
import { doc, el } from '../xml.ts';

// biome-ignore lint/suspicious/noTemplateCurlyInString: S3's literal key variable, not a template
const FILENAME_VARIABLE = '${filename}';

/** Form fields that are not object headers: the upload's own controls. */
const CONTROLS = new Set([
  'key',
  'policy',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-signature',
  'success_action_status',
  'success_action_redirect',
  'redirect',
  'tagging',
  'bucket',
]);

/** The form's fields as the headers a PUT would carry (`acl` is `x-amz-acl`). */
function headersOf(fields: ReadonlyMap<string, string>, fileType: string): IncomingHttpHeaders {
  const h: IncomingHttpHeaders = {};
  for (const [name, value] of fields) {
    if (CONTROLS.has(name) || name.startsWith('x-ignore-')) continue;
    h[name === 'acl' ? 'x-amz-acl' : name] = value;
  }
  if (h['content-type'] === undefined && fileType !== '' && fileType !== 'application/octet-stream')
    h['content-type'] = fileType;
  return h;
}

/** Counts the file's bytes against the policy's content-length-range as they pass. */
async function* withinRange(
  source: AsyncIterable<Buffer>,
  range: { min: number; max: number } | undefined,
): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (range && n > range.max)
      throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
        MaxSizeAllowed: String(range.max),
      });
    yield chunk;
  }
  if (range && n < range.min)
    throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
      MinSizeAllowed: String(range.min),
    });
}

/**
 * POST /bucket, multipart/form-data — a browser-based upload (S3's POST Object). The server
 * has read the fields and checked the policy (auth/post-policy.ts); here the file is written
 * aside as a PUT's body is, within the policy's content-length-range, and linked over the key
 * (`${filename}` in it replaced by the file's name). The answer is S3's:
 * success_action_redirect → 303 to it with bucket, key and ETag; success_action_status 200 or
 * 201 (a PostResponse document); otherwise 204.
 */
export async function postObject(call: S3Call): Promise<S3Reply> {
  const post = call.post;
  if (!post) throw new S3Error('InvalidRequest', 'POST Object needs a multipart/form-data body.');
  const { fields, filename, fileType, file } = post.form;
  const given = fields.get('key');
  if (given === undefined || given === '')
    throw new S3Error('InvalidArgument', "Bucket POST must contain a field named 'key'.", {
      ArgumentName: 'key',
    });
  // S3's one substitution: the literal text ${filename} becomes the uploaded file's name.
  const key = given.replaceAll(FILENAME_VARIABLE, filename.split(/[\\/]/).pop() ?? '');
  const kp = keyPath(key);
  if (kp.marker)
    throw new S3Error(
      'InvalidArgument',
      'A key ending in "/" is a directory marker here and cannot hold data.',
      {
        ArgumentName: 'key',
      },
    );
  const headers = headersOf(fields, fileType);
  refuseUnsupportedWriteHeaders(headers);
  const others = await aclOnWrite(call, headers);
  const metadata = metadataFromHeaders(headers);
  const tagging = fields.get('tagging');
  if (tagging !== undefined) {
    const tags = parseTagging(tagging, MAX_OBJECT_TAGS, 'Object');
    if (tags.length > 0) metadata[TAGS_XATTR] = encodeTags(tags);
  }
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  // The form names the key: the bucket policy is asked about it once it is known.
  await policyAllows(call, 'PutObject', call.bucket, key, false);
  Object.assign(metadata, await newObjectLock(call.env, bucket.ino, headers));
  const md5 = createHash('md5');
  const written = await writeAside(
    call.env.ns,
    call.cred,
    withinRange(hashing(file, md5), post.sizeRange),
    'upload',
  );
  const md5Hex = md5.digest('hex');
  const linked = await linkObject(call.env, call.cred, {
    bucketIno: bucket.ino,
    key,
    kp,
    file: written.attrs,
    metadata,
    etag: { md5Hex },
    others,
  });
  const version = versionHeader(linked);

  const etag = quoted(md5Hex);
  const host = call.headers.host ?? 'localhost';
  const location = `${call.env.config.tls ? 'https' : 'http'}://${host}/${encodeURIComponent(call.bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (redirect !== undefined && /^https?:\/\//i.test(redirect)) {
    const to = new URL(redirect);
    to.searchParams.set('bucket', call.bucket);
    to.searchParams.set('key', key);
    to.searchParams.set('etag', etag);
    return { status: 303, headers: { location: to.toString(), etag, ...version } };
  }
  const status = fields.get('success_action_status');
  if (status === '201')
    return {
      status: 201,
      headers: { location, etag, ...version },
      body: doc(
        'PostResponse',
        `${el('Location', location)}${el('Bucket', call.bucket)}${el('Key', key)}${el('ETag', etag)}`,
      ),
    };
  return { status: status === '200' ? 200 : 204, headers: { location, etag, ...version } };
}
