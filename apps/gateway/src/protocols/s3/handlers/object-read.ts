import type { OutgoingHttpHeaders } from 'node:http';
import type { Attributes } from '../../../storage/types.ts';
import { evaluate, preconditionFailed, requestConditions } from '../conditions.ts';
import type { S3Call } from '../context.ts';
import { S3Error } from '../deps.ts';
import { objectEtag, quoted } from '../etag.ts';
import { keyPath } from '../keys.ts';
import { metadataHeaders, RESPONSE_OVERRIDES } from '../metadata.ts';
import { bucketDir, findObject } from '../objects.ts';

export interface ReadableObject {
  attrs: Attributes;
  /** 0 for a directory marker. */
  size: bigint;
  headers: OutgoingHttpHeaders;
  /** 304 for a failed If-None-Match / If-Modified-Since (headers only). */
  notModified: boolean;
}

/** What GET and HEAD share: lookup, read permission, ETag, conditions, headers. */
export async function openObject(call: S3Call): Promise<ReadableObject> {
  if (call.query.has('partNumber')) {
    throw new S3Error('NotImplemented', 'Reading one part of an object (partNumber) is not implemented.');
  }
  const versionId = call.query.get('versionId');
  if (versionId !== undefined && versionId !== 'null') {
    throw new S3Error('InvalidArgument', 'Invalid version id specified', {
      ArgumentName: 'versionId',
      ArgumentValue: versionId.slice(0, 64),
    });
  }
  const overrides = [...call.query.keys()].filter((k) => k in RESPONSE_OVERRIDES);
  if (overrides.length > 0 && !call.principal) {
    throw new S3Error(
      'InvalidRequest',
      'Request specific response headers cannot be used for anonymous GET requests.',
    );
  }
  const kp = keyPath(call.key);
  const { ns } = call.env;
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const { attrs } = await findObject(call.env, call.cred, bucket.ino, call.key, kp);
  if (attrs.type === 'file' && (await ns.access(call.cred, attrs.ino, 4)) === 0) {
    throw new S3Error('AccessDenied', 'Access Denied');
  }
  const xattrs = await ns.listXattrs(attrs.ino);
  const etag = await objectEtag(ns, attrs, xattrs);
  const lastModified = new Date(Number(attrs.mtimeNs / 1_000_000n)).toUTCString();
  const outcome = evaluate({ etag, mtimeNs: attrs.mtimeNs }, requestConditions(call.headers));
  if (outcome === 'failed')
    throw preconditionFailed(call.headers['if-match'] !== undefined ? 'If-Match' : 'If-Unmodified-Since');
  const headers: OutgoingHttpHeaders = { etag: quoted(etag), 'last-modified': lastModified };
  if (outcome === 'not-modified') return { attrs, size: 0n, headers, notModified: true };
  metadataHeaders(xattrs, call.key, headers);
  for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = call.query.get(param);
    if (v !== undefined) headers[name] = v;
  }
  headers['accept-ranges'] = 'bytes';
  return { attrs, size: attrs.type === 'dir' ? 0n : attrs.size, headers, notModified: false };
}
