import { aclOnWrite } from '../acl.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { checksumHeaderName } from '../deps.ts';
import { EMPTY_MD5, quoted } from '../etag.ts';
import { keyPath } from '../keys.ts';
import { metadataFromHeaders, refuseUnsupportedWriteHeaders } from '../metadata.ts';
import { newObjectLock } from '../object-lock/retention.ts';
import { bucketDir } from '../objects.ts';
import {
  linkObject,
  markerCondition,
  requireEmptyBody,
  storeMarker,
  versionHeader,
  writeCondition,
} from '../store-object.ts';
import { declaredLength, writeAside } from '../upload.ts';

/**
 * PUT /bucket/key — the body is written aside into a detached file as it arrives (the body
 * verifier decodes aws-chunked and checks Content-MD5 / checksums / signatures before the
 * stream ends), made durable, then linked atomically over the key. 200 only after that.
 */
export async function putObject(call: S3Call): Promise<S3Reply> {
  const kp = keyPath(call.key);
  refuseUnsupportedWriteHeaders(call.headers);
  const condition = writeCondition(call.headers);
  if (condition && kp.marker) throw markerCondition();
  const others = await aclOnWrite(call);
  const expected = declaredLength(call.headers);
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const metadata = {
    ...metadataFromHeaders(call.headers),
    ...(await newObjectLock(call.env, bucket.ino, call.headers, { marker: kp.marker, integrity: true })),
  };
  if (kp.marker) {
    await requireEmptyBody(call, 'A key ending in "/" is a directory marker here and cannot hold data.');
    await storeMarker(call.env, call.cred, bucket.ino, call.key, kp, metadata);
    return { headers: { etag: quoted(EMPTY_MD5) } };
  }
  const body = call.body();
  const written = await writeAside(call.env.ns, call.cred, body, 'upload', null, expected);
  const linked = await linkObject(call.env, call.cred, {
    bucketIno: bucket.ino,
    key: call.key,
    kp,
    file: written.attrs,
    metadata,
    etag: { md5Hex: body.md5Hex },
    others,
    checksums: body.checksums,
    condition,
  });
  const headers: Record<string, string> = { etag: quoted(body.md5Hex), ...versionHeader(linked) };
  for (const [algorithm, value] of Object.entries(body.checksums)) {
    if (value !== undefined)
      headers[checksumHeaderName(algorithm as Parameters<typeof checksumHeaderName>[0])] = value;
  }
  return { headers };
}
