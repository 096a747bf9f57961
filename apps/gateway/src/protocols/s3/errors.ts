/**
 * THE S3 error table: every error the S3 server answers with is one row here (code, HTTP
 * status, default message), and every namespace error reaches S3 through fromFsError's table.
 * Codes and messages follow Amazon S3's "Error responses" list (API Reference, ErrorResponses)
 * unless a row says otherwise. Nothing matches on message text.
 */

export type S3ErrorCode =
  | 'AccessDenied'
  | 'AccessForbidden'
  | 'SignatureDoesNotMatch'
  | 'InvalidAccessKeyId'
  | 'RequestTimeTooSkewed'
  | 'AuthorizationHeaderMalformed'
  | 'AuthorizationQueryParametersError'
  | 'XAmzContentSHA256Mismatch'
  | 'BadDigest'
  | 'InvalidDigest'
  | 'IncompleteBody'
  | 'MissingContentLength'
  | 'MalformedTrailerError'
  | 'InvalidRequest'
  | 'InvalidArgument'
  | 'IllegalLocationConstraintException'
  | 'InvalidURI'
  | 'InvalidBucketName'
  | 'KeyTooLongError'
  | 'MetadataTooLarge'
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'NoSuchUpload'
  | 'NoSuchVersion'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'EntityTooSmall'
  | 'EntityTooLarge'
  | 'BucketNotEmpty'
  | 'BucketAlreadyOwnedByYou'
  | 'BucketAlreadyExists'
  | 'MalformedXML'
  | 'InvalidRange'
  | 'InvalidPartNumber'
  | 'PreconditionFailed'
  | 'NotModified'
  | 'NotImplemented'
  | 'MethodNotAllowed'
  | 'ServiceUnavailable'
  | 'SlowDown'
  | 'InsufficientStorage'
  | 'InternalError'
  | 'QuotaExceeded'
  | 'ObjectPathConflict'
  | 'RequestHeaderSectionTooLarge'
  | 'MaxMessageLengthExceeded'
  | 'InvalidObjectName'
  | 'InvalidTag'
  | 'InvalidPolicyDocument'
  | 'InvalidBucketState'
  | 'MalformedPolicy'
  | 'MalformedACLError'
  | 'AccessControlListNotSupported'
  | 'NoSuchObjectLockConfiguration'
  // A bucket setting read where none was ever set (handlers/bucket-settings.ts).
  | 'NoSuchTagSet'
  | 'NoSuchBucketPolicy'
  | 'NoSuchCORSConfiguration'
  | 'ServerSideEncryptionConfigurationNotFoundError'
  | 'NoSuchLifecycleConfiguration'
  | 'NoSuchWebsiteConfiguration'
  | 'ReplicationConfigurationNotFoundError'
  | 'ObjectLockConfigurationNotFoundError'
  | 'NoSuchPublicAccessBlockConfiguration'
  | 'OwnershipControlsNotFoundError';

export const S3_ERRORS: Record<S3ErrorCode, { status: number; message: string }> = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  // A CORS preflight from an origin (or for a method) not allowed.
  AccessForbidden: { status: 403, message: 'CORSResponse: This CORS request is not allowed.' },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  },
  InvalidAccessKeyId: {
    status: 403,
    message: 'The AWS Access Key Id you provided does not exist in our records.',
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the server's time is too large.",
  },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed.' },
  AuthorizationQueryParametersError: {
    status: 400,
    message: 'The authorization query parameters are malformed.',
  },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
  BadDigest: {
    status: 400,
    message: 'The Content-MD5 or checksum value you specified did not match what we received.',
  },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.' },
  IncompleteBody: {
    status: 400,
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
  },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  MalformedTrailerError: {
    status: 400,
    message:
      'The request contained trailing data that was not well-formed or did not conform to our published schema.',
  },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  IllegalLocationConstraintException: {
    status: 400,
    message: 'The location constraint is incompatible with the region this request was sent to.',
  },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  KeyTooLongError: { status: 400, message: 'Your key is too long' },
  MetadataTooLarge: {
    status: 400,
    message: 'Your metadata headers exceed the maximum allowed metadata size.',
  },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  NoSuchTagSet: { status: 404, message: 'The TagSet does not exist' },
  InvalidTag: { status: 400, message: 'The tag provided was not a valid tag.' },
  NoSuchBucketPolicy: { status: 404, message: 'The bucket policy does not exist' },
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist' },
  ServerSideEncryptionConfigurationNotFoundError: {
    status: 404,
    message: 'The server side encryption configuration was not found',
  },
  NoSuchLifecycleConfiguration: { status: 404, message: 'The lifecycle configuration does not exist' },
  NoSuchWebsiteConfiguration: {
    status: 404,
    message: 'The specified bucket does not have a website configuration',
  },
  ReplicationConfigurationNotFoundError: {
    status: 404,
    message: 'The replication configuration was not found',
  },
  MalformedPolicy: { status: 400, message: 'Policy has invalid resource.' },
  InvalidBucketState: {
    status: 409,
    message: 'The request is not valid with the current state of the bucket.',
  },
  NoSuchObjectLockConfiguration: {
    status: 404,
    message: 'The specified object does not have a ObjectLock configuration',
  },
  ObjectLockConfigurationNotFoundError: {
    status: 404,
    message: 'Object Lock configuration does not exist for this bucket',
  },
  NoSuchPublicAccessBlockConfiguration: {
    status: 404,
    message: 'The public access block configuration was not found',
  },
  OwnershipControlsNotFoundError: { status: 404, message: 'The bucket ownership controls were not found' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: {
    status: 404,
    message:
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartOrder: {
    status: 400,
    message:
      'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  },
  EntityTooSmall: {
    status: 400,
    message: 'Your proposed upload is smaller than the minimum allowed object size.',
  },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed object size.' },
  InvalidPolicyDocument: {
    status: 400,
    message: 'The content of the form does not meet the conditions specified in the policy document.',
  },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty' },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: 'Your previous request to create the named bucket succeeded and you already own it.',
  },
  BucketAlreadyExists: {
    status: 409,
    message:
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
  },
  MalformedACLError: {
    status: 400,
    message: 'The XML you provided was not well-formed or did not validate against our published schema.',
  },
  /**
   * An ACL the POSIX mode cannot hold (acl.ts). S3's code for a bucket that does not take
   * ACLs: a 4xx, which clients (s3cmd) do not retry as they retry 501.
   */
  AccessControlListNotSupported: { status: 400, message: 'The bucket does not allow ACLs' },
  MalformedXML: {
    status: 400,
    message: 'The XML you provided was not well-formed or did not validate against our published schema.',
  },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable' },
  PreconditionFailed: {
    status: 412,
    message: 'At least one of the pre-conditions you specified did not hold',
  },
  NotModified: { status: 304, message: 'Not Modified' },
  NotImplemented: {
    status: 501,
    message: 'A header you provided implies functionality that is not implemented.',
  },
  NoSuchVersion: { status: 404, message: 'The specified version does not exist.' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  /**
   * 503, which every AWS SDK retries with back-off: the namespace refused at once because a
   * backend's circuit is open (EAGAIN); the condition clears by itself.
   */
  ServiceUnavailable: {
    status: 503,
    message: 'The service is temporarily unavailable. Please retry the request later.',
  },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  /**
   * The backing file system is full (ENOSPC). Not an Amazon S3 code (S3 never fills up):
   * 507 as WebDAV (RFC 4918 §11.5) and MinIO's XMinioStorageFull use it. Chosen over 503
   * ServiceUnavailable because SDKs retry 503 with back-off, which only delays the failure
   * of a full disk; 507 reaches the user at once with a message saying what is wrong.
   */
  InsufficientStorage: {
    status: 507,
    message: 'The storage backing this gateway is full. Delete some objects or add capacity, then retry.',
  },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  /**
   * A hard quota (user, group or bucket) would be exceeded (EDQUOT). Amazon S3 has no quota
   * error; this is Ceph RGW's code and status (403 QuotaExceeded): a 4xx so that SDKs do not
   * retry a request that cannot succeed until usage drops, and a code of its own so that
   * clients can tell it from a permission refusal.
   */
  QuotaExceeded: {
    status: 403,
    message: 'The request would exceed a hard storage quota (user, group or bucket) set on this gateway.',
  },
  /** The namespace is a file system: "a" and "a/b" cannot both be objects (EEXIST/ENOTDIR/EISDIR). */
  ObjectPathConflict: {
    status: 409,
    message: "an object and a 'directory' prefix cannot share a name on this file-system-backed store",
  },
  RequestHeaderSectionTooLarge: {
    status: 400,
    message: 'Your request header section exceeds the maximum allowed size.',
  },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.' },
  /** Not an Amazon S3 code (S3 accepts any UTF-8 key); keys this file-system store cannot name. */
  InvalidObjectName: {
    status: 400,
    message: 'The object name contains characters this store does not accept.',
  },
};

export class S3Error extends Error {
  override readonly name = 'S3Error';
  constructor(
    readonly code: S3ErrorCode,
    message?: string,
    /** Further elements of the <Error> document (e.g. Region, BucketName), name → text. */
    readonly extra?: Record<string, string>,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message ?? S3_ERRORS[code].message, options);
    this.headers = options?.headers;
  }

  /** Response headers the error carries (`x-amz-delete-marker` of a deleted object). */
  readonly headers: Record<string, string> | undefined;

  get status(): number {
    return S3_ERRORS[this.code].status;
  }
}

export function isS3Error(e: unknown, code?: S3ErrorCode): e is S3Error {
  return e instanceof S3Error && (code === undefined || e.code === code);
}

/**
 * Namespace (POSIX-like) error code → S3 code: one row per code the namespace throws
 * (storage/errors.ts FS_ERROR_CODES); anything else is InternalError (fromFsError's default).
 */
export const FS_TO_S3: Readonly<Record<string, S3ErrorCode>> = {
  ENOENT: 'NoSuchKey',
  /** A handle to an inode that no longer exists: the object is gone. */
  ESTALE: 'NoSuchKey',
  EACCES: 'AccessDenied',
  EPERM: 'AccessDenied',
  /**
   * Only a backend raises it for S3 (its data folder or database became read-only): not the
   * caller's permission, and it passes when the backend recovers, so the client retries.
   */
  EROFS: 'ServiceUnavailable',
  EDQUOT: 'QuotaExceeded',
  ENOSPC: 'InsufficientStorage',
  /** An open circuit breaker refuses at once; it closes by itself, so the client should retry. */
  EAGAIN: 'ServiceUnavailable',
  ENAMETOOLONG: 'KeyTooLongError',
  EINVAL: 'InvalidArgument',
  EEXIST: 'ObjectPathConflict',
  ENOTDIR: 'ObjectPathConflict',
  EISDIR: 'ObjectPathConflict',
  ENOTEMPTY: 'BucketNotEmpty',
  EFBIG: 'EntityTooLarge',
  EIO: 'InternalError',
  EBADF: 'InternalError',
  /** Cross-device rename: the namespace cannot move the object where it was asked to. */
  EXDEV: 'NotImplemented',
  ENOTSUP: 'NotImplemented',
  /** Too many hard links to one inode: a limit of the file system, not of the request's syntax. */
  EMLINK: 'InvalidRequest',
  /** A symbolic-link loop on the key's path (the store is shared with NFS and SMB clients). */
  ELOOP: 'InvalidArgument',
  /** NFSv3 SETATTR guard mismatch: a condition on the object's state did not hold. */
  ENOTSYNC: 'PreconditionFailed',
};

/**
 * The S3 error for a namespace failure. Takes the namespace's `{ code, message }` (FsError);
 * an S3Error passes through unchanged and anything else becomes InternalError. The reply
 * carries the S3 default message (the namespace's message may name server paths); the
 * original error is kept as `cause` for logs.
 */
export function fromFsError(e: unknown): S3Error {
  if (e instanceof S3Error) return e;
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const s3code: S3ErrorCode =
    typeof code === 'string' && Object.hasOwn(FS_TO_S3, code) ? FS_TO_S3[code]! : 'InternalError';
  return new S3Error(s3code, undefined, undefined, { cause: e });
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Text for an XML element: markup escaped, and characters XML 1.0 cannot carry (§2.2) dropped. */
export function xmlText(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

/**
 * The S3 error document: `<Error><Code/><Message/><Resource/><RequestId/>…extra</Error>`.
 * Extra entries whose key is not a plain XML element name are left out.
 */
export function errorXml(err: S3Error, resource: string, requestId: string): string {
  let extra = '';
  for (const [name, value] of Object.entries(err.extra ?? {})) {
    if (XML_NAME.test(name)) extra += `<${name}>${xmlText(value)}</${name}>`;
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${err.code}</Code><Message>${xmlText(err.message)}</Message>` +
    `<Resource>${xmlText(resource)}</Resource><RequestId>${xmlText(requestId)}</RequestId>${extra}</Error>`
  );
}
