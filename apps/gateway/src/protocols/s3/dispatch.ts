import type { IncomingHttpHeaders } from 'node:http';
import { checkExpectedBucketOwner } from './buckets.ts';
import type { S3Call, S3Reply } from './context.ts';
import { S3Error } from './deps.ts';
import { abortMultipartUpload } from './handlers/abort-multipart-upload.ts';
import { getBucketAcl, getObjectAcl, putBucketAcl, putObjectAcl } from './handlers/acl.ts';
import { deleteBucketCors, getBucketCors, putBucketCors } from './handlers/bucket-cors.ts';
import {
  deleteBucketPolicy,
  getBucketPolicy,
  getBucketPolicyStatus,
  putBucketPolicy,
} from './handlers/bucket-policy.ts';
import { readUnsetSetting, UNSET_BUCKET_SETTINGS } from './handlers/bucket-settings.ts';
import { completeMultipartUpload } from './handlers/complete-multipart-upload.ts';
import { copyObject } from './handlers/copy-object.ts';
import { createBucket } from './handlers/create-bucket.ts';
import { createMultipartUpload } from './handlers/create-multipart-upload.ts';
import { deleteBucket } from './handlers/delete-bucket.ts';
import { deleteObject } from './handlers/delete-object.ts';
import { deleteObjects } from './handlers/delete-objects.ts';
import { getBucketLocation } from './handlers/get-bucket-location.ts';
import { getObject } from './handlers/get-object.ts';
import { getObjectAttributes } from './handlers/get-object-attributes.ts';
import { headBucket } from './handlers/head-bucket.ts';
import { headObject } from './handlers/head-object.ts';
import { deleteBucketLifecycle, getBucketLifecycle, putBucketLifecycle } from './handlers/lifecycle.ts';
import { listBuckets } from './handlers/list-buckets.ts';
import { listMultipartUploads } from './handlers/list-multipart-uploads.ts';
import { listObjectVersions } from './handlers/list-object-versions.ts';
import { listObjects } from './handlers/list-objects.ts';
import { listObjectsV2 } from './handlers/list-objects-v2.ts';
import { listParts } from './handlers/list-parts.ts';
import {
  getObjectLegalHold,
  getObjectLockConfiguration,
  getObjectRetention,
  putObjectLegalHold,
  putObjectLockConfiguration,
  putObjectRetention,
} from './handlers/object-lock.ts';
import { postObject } from './handlers/post-object.ts';
import {
  deletePublicAccessBlock,
  getPublicAccessBlock,
  putPublicAccessBlock,
} from './handlers/public-access-block.ts';
import { putObject } from './handlers/put-object.ts';
import {
  deleteBucketTagging,
  deleteObjectTagging,
  getBucketTagging,
  getObjectTagging,
  putBucketTagging,
  putObjectTagging,
} from './handlers/tagging.ts';
import { uploadPart } from './handlers/upload-part.ts';
import { uploadPartCopy } from './handlers/upload-part-copy.ts';
import { getBucketVersioning, putBucketVersioning } from './handlers/versioning.ts';
import { isMultipartForm } from './post-form.ts';

export type Target = 'service' | 'bucket' | 'object';

/** One S3 operation: how a request is recognised and what the server checks before the handler. */
export interface OpRow {
  /** The S3 operation name: metrics label, logs. */
  op: string;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  target: Target;
  /** Decides among rows of one method and target, from the subresources present (and headers). */
  match: (sub: ReadonlySet<string>, headers: IncomingHttpHeaders) => boolean;
  /**
   * Query parameters the operation takes besides its subresources. Others are ignored, but for
   * those of OPERATION_PARAMS (route()).
   */
  params: readonly string[];
  handler: (call: S3Call) => Promise<S3Reply>;
  mutates: boolean;
  needsBucket: boolean;
  /** Anonymous callers may run it on a public-read bucket. */
  publicRead: boolean;
  /** Authenticated by its form's signed policy, not by the request's headers (POST Object). */
  formAuth?: boolean;
}

/**
 * Query names S3 treats as subresources (they select an operation). Those without a row here
 * are answered NotImplemented, never ignored.
 */
export const SUBRESOURCES: ReadonlySet<string> = new Set([
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metadataConfiguration',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'renameObject',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
]);

/**
 * Parameters that change what an operation acts on (a version, a part): on a row that does not
 * take them, ignoring them would answer for something else, so they are NotImplemented there.
 */
const OPERATION_PARAMS = ['partNumber', 'versionId'];

const none = (s: ReadonlySet<string>) => s.size === 0;
const only = (name: string) => (s: ReadonlySet<string>) => s.size === 1 && s.has(name);
const LIST = ['prefix', 'delimiter', 'max-keys', 'encoding-type'];
const RESPONSE = [
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
];
const copying = (h: IncomingHttpHeaders) => h['x-amz-copy-source'] !== undefined;

/** GET ?encryption, ?website, ?replication…: settings never set here, read as S3 reads them unset. */
const UNSET_SETTING_ROWS: OpRow[] = UNSET_BUCKET_SETTINGS.map((setting) => ({
  op: setting.op,
  method: 'GET',
  target: 'bucket',
  match: only(setting.sub),
  params: [],
  handler: readUnsetSetting(setting),
  mutates: false,
  needsBucket: true,
  publicRead: false,
}));

const ROWS: readonly OpRow[] = [
  ...UNSET_SETTING_ROWS,
  {
    op: 'ListObjectVersions',
    method: 'GET',
    target: 'bucket',
    match: only('versions'),
    params: [...LIST, 'key-marker', 'version-id-marker'],
    handler: listObjectVersions,
    mutates: false,
    needsBucket: true,
    publicRead: true,
  },
  {
    op: 'GetBucketCors',
    method: 'GET',
    target: 'bucket',
    match: only('cors'),
    params: [],
    handler: getBucketCors,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutBucketCors',
    method: 'PUT',
    target: 'bucket',
    match: only('cors'),
    params: [],
    handler: putBucketCors,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeleteBucketCors',
    method: 'DELETE',
    target: 'bucket',
    match: only('cors'),
    params: [],
    handler: deleteBucketCors,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetBucketAcl',
    method: 'GET',
    target: 'bucket',
    match: only('acl'),
    params: [],
    handler: getBucketAcl,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutBucketAcl',
    method: 'PUT',
    target: 'bucket',
    match: only('acl'),
    params: [],
    handler: putBucketAcl,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetObjectAcl',
    method: 'GET',
    target: 'object',
    match: only('acl'),
    params: ['versionId'],
    handler: getObjectAcl,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutObjectAcl',
    method: 'PUT',
    target: 'object',
    match: only('acl'),
    params: ['versionId'],
    handler: putObjectAcl,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetPublicAccessBlock',
    method: 'GET',
    target: 'bucket',
    match: only('publicAccessBlock'),
    params: [],
    handler: getPublicAccessBlock,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutPublicAccessBlock',
    method: 'PUT',
    target: 'bucket',
    match: only('publicAccessBlock'),
    params: [],
    handler: putPublicAccessBlock,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeletePublicAccessBlock',
    method: 'DELETE',
    target: 'bucket',
    match: only('publicAccessBlock'),
    params: [],
    handler: deletePublicAccessBlock,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetObjectAttributes',
    method: 'GET',
    target: 'object',
    match: only('attributes'),
    params: ['versionId'],
    handler: getObjectAttributes,
    mutates: false,
    needsBucket: true,
    publicRead: true,
  },
  {
    op: 'GetObjectTagging',
    method: 'GET',
    target: 'object',
    match: only('tagging'),
    params: ['versionId'],
    handler: getObjectTagging,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutObjectTagging',
    method: 'PUT',
    target: 'object',
    match: only('tagging'),
    params: ['versionId'],
    handler: putObjectTagging,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeleteObjectTagging',
    method: 'DELETE',
    target: 'object',
    match: only('tagging'),
    params: ['versionId'],
    handler: deleteObjectTagging,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetBucketTagging',
    method: 'GET',
    target: 'bucket',
    match: only('tagging'),
    params: [],
    handler: getBucketTagging,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutBucketTagging',
    method: 'PUT',
    target: 'bucket',
    match: only('tagging'),
    params: [],
    handler: putBucketTagging,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeleteBucketTagging',
    method: 'DELETE',
    target: 'bucket',
    match: only('tagging'),
    params: [],
    handler: deleteBucketTagging,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PostObject',
    method: 'POST',
    target: 'bucket',
    match: (s, h) => s.size === 0 && isMultipartForm(h['content-type']),
    params: [],
    handler: postObject,
    mutates: true,
    needsBucket: true,
    publicRead: false,
    formAuth: true,
  },
  {
    op: 'GetBucketLifecycleConfiguration',
    method: 'GET',
    target: 'bucket',
    match: only('lifecycle'),
    params: [],
    handler: getBucketLifecycle,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetBucketVersioning',
    method: 'GET',
    target: 'bucket',
    match: only('versioning'),
    params: [],
    handler: getBucketVersioning,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutBucketVersioning',
    method: 'PUT',
    target: 'bucket',
    match: only('versioning'),
    params: [],
    handler: putBucketVersioning,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetObjectLockConfiguration',
    method: 'GET',
    target: 'bucket',
    match: only('object-lock'),
    params: [],
    handler: getObjectLockConfiguration,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutObjectLockConfiguration',
    method: 'PUT',
    target: 'bucket',
    match: only('object-lock'),
    params: [],
    handler: putObjectLockConfiguration,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetObjectRetention',
    method: 'GET',
    target: 'object',
    match: only('retention'),
    params: ['versionId'],
    handler: getObjectRetention,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutObjectRetention',
    method: 'PUT',
    target: 'object',
    match: only('retention'),
    params: ['versionId'],
    handler: putObjectRetention,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetObjectLegalHold',
    method: 'GET',
    target: 'object',
    match: only('legal-hold'),
    params: ['versionId'],
    handler: getObjectLegalHold,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutObjectLegalHold',
    method: 'PUT',
    target: 'object',
    match: only('legal-hold'),
    params: ['versionId'],
    handler: putObjectLegalHold,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetBucketPolicy',
    method: 'GET',
    target: 'bucket',
    match: only('policy'),
    params: [],
    handler: getBucketPolicy,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutBucketPolicy',
    method: 'PUT',
    target: 'bucket',
    match: only('policy'),
    params: [],
    handler: putBucketPolicy,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeleteBucketPolicy',
    method: 'DELETE',
    target: 'bucket',
    match: only('policy'),
    params: [],
    handler: deleteBucketPolicy,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetBucketPolicyStatus',
    method: 'GET',
    target: 'bucket',
    match: only('policyStatus'),
    params: [],
    handler: getBucketPolicyStatus,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutBucketLifecycleConfiguration',
    method: 'PUT',
    target: 'bucket',
    match: only('lifecycle'),
    params: [],
    handler: putBucketLifecycle,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeleteBucketLifecycle',
    method: 'DELETE',
    target: 'bucket',
    match: only('lifecycle'),
    params: [],
    handler: deleteBucketLifecycle,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'ListBuckets',
    method: 'GET',
    target: 'service',
    match: none,
    params: ['prefix', 'max-buckets', 'continuation-token', 'bucket-region'],
    handler: listBuckets,
    mutates: false,
    needsBucket: false,
    publicRead: false,
  },
  {
    op: 'GetBucketLocation',
    method: 'GET',
    target: 'bucket',
    match: only('location'),
    params: [],
    handler: getBucketLocation,
    mutates: false,
    needsBucket: true,
    publicRead: true,
  },
  {
    op: 'ListMultipartUploads',
    method: 'GET',
    target: 'bucket',
    match: only('uploads'),
    params: [...LIST, 'key-marker', 'upload-id-marker', 'max-uploads'],
    handler: listMultipartUploads,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'ListObjectsV2',
    method: 'GET',
    target: 'bucket',
    match: (s, _h) => none(s),
    params: [...LIST, 'list-type', 'continuation-token', 'start-after', 'fetch-owner'],
    handler: listObjectsV2,
    mutates: false,
    needsBucket: true,
    publicRead: true,
  },
  {
    op: 'ListObjects',
    method: 'GET',
    target: 'bucket',
    match: none,
    params: [...LIST, 'marker'],
    handler: listObjects,
    mutates: false,
    needsBucket: true,
    publicRead: true,
  },
  {
    op: 'HeadBucket',
    method: 'HEAD',
    target: 'bucket',
    match: none,
    params: [],
    handler: headBucket,
    mutates: false,
    needsBucket: true,
    publicRead: true,
  },
  {
    op: 'CreateBucket',
    method: 'PUT',
    target: 'bucket',
    match: none,
    params: [],
    handler: createBucket,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeleteBucket',
    method: 'DELETE',
    target: 'bucket',
    match: none,
    params: [],
    handler: deleteBucket,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeleteObjects',
    method: 'POST',
    target: 'bucket',
    match: only('delete'),
    params: [],
    handler: deleteObjects,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'ListParts',
    method: 'GET',
    target: 'object',
    match: only('uploadId'),
    params: ['max-parts', 'part-number-marker', 'encoding-type'],
    handler: listParts,
    mutates: false,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'GetObject',
    method: 'GET',
    target: 'object',
    match: none,
    params: [...RESPONSE, 'versionId', 'partNumber'],
    handler: getObject,
    mutates: false,
    needsBucket: true,
    publicRead: true,
  },
  {
    op: 'HeadObject',
    method: 'HEAD',
    target: 'object',
    match: none,
    params: [...RESPONSE, 'versionId', 'partNumber'],
    handler: headObject,
    mutates: false,
    needsBucket: true,
    publicRead: true,
  },
  {
    op: 'UploadPartCopy',
    method: 'PUT',
    target: 'object',
    match: (s, h) => only('uploadId')(s) && copying(h),
    params: ['partNumber'],
    handler: uploadPartCopy,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'UploadPart',
    method: 'PUT',
    target: 'object',
    match: only('uploadId'),
    params: ['partNumber'],
    handler: uploadPart,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'CopyObject',
    method: 'PUT',
    target: 'object',
    match: (s, h) => none(s) && copying(h),
    params: [],
    handler: copyObject,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'PutObject',
    method: 'PUT',
    target: 'object',
    match: none,
    params: [],
    handler: putObject,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'AbortMultipartUpload',
    method: 'DELETE',
    target: 'object',
    match: only('uploadId'),
    params: [],
    handler: abortMultipartUpload,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'DeleteObject',
    method: 'DELETE',
    target: 'object',
    match: none,
    params: ['versionId'],
    handler: deleteObject,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'CreateMultipartUpload',
    method: 'POST',
    target: 'object',
    match: only('uploads'),
    params: [],
    handler: createMultipartUpload,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
  {
    op: 'CompleteMultipartUpload',
    method: 'POST',
    target: 'object',
    match: only('uploadId'),
    params: [],
    handler: completeMultipartUpload,
    mutates: true,
    needsBucket: true,
    publicRead: false,
  },
];

/** The handler, run once the bucket's owner is the one the request expects (buckets.ts). */
function ownerChecked(handler: OpRow['handler']): OpRow['handler'] {
  return async (call) => {
    await checkExpectedBucketOwner(call);
    return handler(call);
  };
}

/** Every row; those that name a bucket check `x-amz-expected-bucket-owner` first, in one place. */
export const OPERATIONS: readonly OpRow[] = ROWS.map((row) =>
  row.needsBucket ? { ...row, handler: ownerChecked(row.handler) } : row,
);

/** ListObjectsV2 and ListObjects differ by `list-type=2`, not by a subresource. */
function pick(rows: OpRow[], query: ReadonlyMap<string, string>): OpRow | undefined {
  if (rows.length === 2 && rows[0]!.op === 'ListObjectsV2') {
    const lt = query.get('list-type');
    if (lt === undefined) return rows[1];
    if (lt !== '2')
      throw new S3Error('InvalidArgument', 'Invalid list type specified', {
        ArgumentName: 'list-type',
        ArgumentValue: lt.slice(0, 16),
      });
    return rows[0];
  }
  return rows[0];
}

const ROWS_BY: Map<string, OpRow[]> = new Map();
for (const row of OPERATIONS) {
  const k = `${row.method} ${row.target}`;
  ROWS_BY.set(k, [...(ROWS_BY.get(k) ?? []), row]);
}

/**
 * The operation a request asks for. A known S3 subresource without a row, or a parameter of
 * OPERATION_PARAMS the row does not take, is NotImplemented (501); an unknown method
 * MethodNotAllowed. Any other parameter is ignored, as S3 and MinIO ignore those they do not
 * know (a cache-busting `?_=`, what newer SDKs send): ignored here, it is still signed, since
 * SigV4 verifies the raw query (auth/sigv4.ts canonicalQuery). Pure: the fuzz test drives it.
 */
export function route(
  method: string,
  target: Target,
  query: ReadonlyMap<string, string>,
  headers: IncomingHttpHeaders,
): OpRow {
  const sub = new Set<string>();
  for (const k of query.keys()) if (SUBRESOURCES.has(k)) sub.add(k);
  const candidates = ROWS_BY.get(`${method} ${target}`);
  if (!candidates) {
    if (!['GET', 'HEAD', 'PUT', 'POST', 'DELETE'].includes(method)) {
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
        Method: method.slice(0, 16),
        ResourceType: target.toUpperCase(),
      });
    }
    throw new S3Error('NotImplemented', `${method} on a ${target} with these parameters is not implemented.`);
  }
  const matching = candidates.filter((r) => r.match(sub, headers));
  const row = matching.length === 0 ? undefined : pick(matching, query);
  if (!row) {
    const named = [...sub].join(', ') || 'none';
    throw new S3Error(
      'NotImplemented',
      `A request with subresources (${named}) is not implemented for ${method} on a ${target}.`,
    );
  }
  for (const name of OPERATION_PARAMS) {
    if (query.has(name) && !row.params.includes(name))
      throw new S3Error('NotImplemented', `The parameter ${name} is not implemented for ${row.op}.`);
  }
  return row;
}
