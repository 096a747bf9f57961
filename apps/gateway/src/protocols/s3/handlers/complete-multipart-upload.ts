import type { Attributes } from '../../../storage/types.ts';
import { aclContext, cannedAcl } from '../acl.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { asS3Error, S3Error } from '../deps.ts';
import { multipartEtag, quoted } from '../etag.ts';
import { keyPath } from '../keys.ts';
import { callerUpload, MIN_PART_BYTES } from '../multipart/access.ts';
import type { PartRecord } from '../multipart/store.ts';
import { bucketDir, ensureParents } from '../objects.ts';
import {
  type LinkedObject,
  linkObject,
  markerCondition,
  precheckCondition,
  readSmallBody,
  versionHeader,
  writeCondition,
} from '../store-object.ts';
import { doc, el, parseCompleteRequest } from '../xml.ts';

/**
 * POST /bucket/key?uploadId — checks the part list (ascending, each part known with its ETag,
 * all but the last ≥ 5 MiB), composes the parts by reference into one file (no data copied)
 * and links it over the key. Parts left out of the list are removed.
 */
export async function completeMultipartUpload(call: S3Call): Promise<S3Reply> {
  const kp = keyPath(call.key);
  const condition = writeCondition(call.headers);
  if (condition && kp.marker) throw markerCondition();
  const listed = parseCompleteRequest(await readSmallBody(call));
  const first = await callerUpload(call);
  const { ns, uploads } = call.env;
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  return uploads.exclusive(first.uploadId, async () => {
    const u = await uploads.get(first.uploadId);
    const recorded = new Map<number, PartRecord>();
    for (const p of await uploads.parts(u)) recorded.set(p.partNumber, p);
    const chosen: PartRecord[] = [];
    for (const [i, p] of listed.entries()) {
      if (i > 0 && p.partNumber <= listed[i - 1]!.partNumber) {
        throw new S3Error(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        );
      }
      const r = recorded.get(p.partNumber);
      if (!r || r.md5 !== p.etag.toLowerCase()) {
        throw new S3Error(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
          {
            PartNumber: String(p.partNumber),
            ETag: p.etag.slice(0, 64),
          },
        );
      }
      chosen.push(r);
    }
    for (const [i, r] of chosen.entries()) {
      if (i < chosen.length - 1 && BigInt(r.size) < MIN_PART_BYTES) {
        throw new S3Error(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
          {
            PartNumber: String(r.partNumber),
            ProposedSize: r.size,
            MinSizeAllowed: String(MIN_PART_BYTES),
          },
        );
      }
    }
    // Checked before the parts are consumed, so a refusal leaves the upload usable.
    const parent = await ensureParents(call.env, call.cred, bucket.ino, kp, call.key);
    if (condition) await precheckCondition(call.env, call.cred, parent.ino, kp, call.key, condition);
    const etag = multipartEtag(chosen.map((r) => r.md5));
    const metadata: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(u.info.metadata)) metadata[k] = Buffer.from(v, 'base64');
    let composed: Attributes;
    try {
      composed = await ns.compose(
        call.cred,
        chosen.map((r) => BigInt(r.ino)),
        'upload',
      );
    } catch (e) {
      throw asS3Error(e);
    }
    // From here the listed parts are gone: whatever happens, the upload is over.
    const chosenSet = new Set(chosen.map((r) => r.ino));
    const leftovers = [...recorded.values()].filter((r) => !chosenSet.has(r.ino));
    let linked: LinkedObject;
    try {
      linked = await linkObject(call.env, call.cred, {
        bucketIno: bucket.ino,
        key: call.key,
        kp,
        file: composed,
        metadata,
        etag: { multipart: etag, partSizes: chosen.map((r) => BigInt(r.size)) },
        condition,
        ...(u.info.acl ? { others: cannedAcl(u.info.acl, await aclContext(call)) } : {}),
      });
    } finally {
      for (const r of leftovers) await ns.removeDetached(BigInt(r.ino)).catch(() => {});
      await uploads.remove(u);
    }
    return {
      headers: versionHeader(linked),
      body: doc(
        'CompleteMultipartUploadResult',
        `${el('Location', `/${call.bucket}/${call.key}`)}${el('Bucket', call.bucket)}${el('Key', call.key)}${el('ETag', quoted(etag))}`,
      ),
    };
  });
}
