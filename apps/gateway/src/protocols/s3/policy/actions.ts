import { wildcardMatch } from './wildcard.ts';

/**
 * The IAM action each S3 operation is (lower case, as policies are matched), and whether it is
 * on the bucket or on an object. A versioned variant names the action S3 checks when the
 * request names a version. One table: the bucket policy, the Allow check and the docs read it.
 */
interface ActionOf {
  action: string;
  /** The action with `?versionId=`. */
  versioned?: string;
  object: boolean;
}

const obj = (action: string, versioned?: string): ActionOf => ({ action, versioned, object: true });
const bkt = (action: string): ActionOf => ({ action, object: false });

export const ACTION_OF_OP: Readonly<Record<string, ActionOf>> = {
  GetObject: obj('s3:getobject', 's3:getobjectversion'),
  HeadObject: obj('s3:getobject', 's3:getobjectversion'),
  PutObject: obj('s3:putobject'),
  CopyObject: obj('s3:putobject'),
  CreateMultipartUpload: obj('s3:putobject'),
  UploadPart: obj('s3:putobject'),
  UploadPartCopy: obj('s3:putobject'),
  CompleteMultipartUpload: obj('s3:putobject'),
  AbortMultipartUpload: obj('s3:abortmultipartupload'),
  ListParts: obj('s3:listmultipartuploadparts'),
  DeleteObject: obj('s3:deleteobject', 's3:deleteobjectversion'),
  GetObjectTagging: obj('s3:getobjecttagging', 's3:getobjectversiontagging'),
  PutObjectTagging: obj('s3:putobjecttagging', 's3:putobjectversiontagging'),
  DeleteObjectTagging: obj('s3:deleteobjecttagging', 's3:deleteobjectversiontagging'),
  GetObjectRetention: obj('s3:getobjectretention'),
  PutObjectRetention: obj('s3:putobjectretention'),
  GetObjectLegalHold: obj('s3:getobjectlegalhold'),
  PutObjectLegalHold: obj('s3:putobjectlegalhold'),
  GetObjectAttributes: obj('s3:getobjectattributes', 's3:getobjectversionattributes'),
  GetObjectAcl: obj('s3:getobjectacl', 's3:getobjectversionacl'),
  PutObjectAcl: obj('s3:putobjectacl', 's3:putobjectversionacl'),
  ListObjects: bkt('s3:listbucket'),
  ListObjectsV2: bkt('s3:listbucket'),
  HeadBucket: bkt('s3:listbucket'),
  ListObjectVersions: bkt('s3:listbucketversions'),
  ListMultipartUploads: bkt('s3:listbucketmultipartuploads'),
  GetBucketLocation: bkt('s3:getbucketlocation'),
  CreateBucket: bkt('s3:createbucket'),
  DeleteBucket: bkt('s3:deletebucket'),
  GetBucketTagging: bkt('s3:getbuckettagging'),
  PutBucketTagging: bkt('s3:putbuckettagging'),
  DeleteBucketTagging: bkt('s3:putbuckettagging'),
  GetBucketVersioning: bkt('s3:getbucketversioning'),
  PutBucketVersioning: bkt('s3:putbucketversioning'),
  GetBucketLifecycleConfiguration: bkt('s3:getlifecycleconfiguration'),
  PutBucketLifecycleConfiguration: bkt('s3:putlifecycleconfiguration'),
  DeleteBucketLifecycle: bkt('s3:putlifecycleconfiguration'),
  GetBucketAcl: bkt('s3:getbucketacl'),
  PutBucketAcl: bkt('s3:putbucketacl'),
  GetBucketCors: bkt('s3:getbucketcors'),
  PutBucketCors: bkt('s3:putbucketcors'),
  DeleteBucketCors: bkt('s3:putbucketcors'),
  GetObjectLockConfiguration: bkt('s3:getbucketobjectlockconfiguration'),
  PutObjectLockConfiguration: bkt('s3:putbucketobjectlockconfiguration'),
  GetBucketPolicy: bkt('s3:getbucketpolicy'),
  PutBucketPolicy: bkt('s3:putbucketpolicy'),
  DeleteBucketPolicy: bkt('s3:deletebucketpolicy'),
  GetBucketPolicyStatus: bkt('s3:getbucketpolicystatus'),
  GetBucketAccelerateConfiguration: bkt('s3:getaccelerateconfiguration'),
  GetBucketLogging: bkt('s3:getbucketlogging'),
  GetBucketRequestPayment: bkt('s3:getbucketrequestpayment'),
  GetBucketNotificationConfiguration: bkt('s3:getbucketnotification'),
  GetBucketEncryption: bkt('s3:getencryptionconfiguration'),
  GetBucketWebsite: bkt('s3:getbucketwebsite'),
  GetBucketReplication: bkt('s3:getreplicationconfiguration'),
  GetPublicAccessBlock: bkt('s3:getbucketpublicaccessblock'),
  PutPublicAccessBlock: bkt('s3:putbucketpublicaccessblock'),
  DeletePublicAccessBlock: bkt('s3:putbucketpublicaccessblock'),
  GetBucketOwnershipControls: bkt('s3:getbucketownershipcontrols'),
};

/**
 * Operations anyone may be allowed by a policy: they read and change nothing — every Get, List
 * and Head but the policy's own, which stay its owner's.
 */
const READ_OPS = Object.keys(ACTION_OF_OP).filter(
  (op) => /^(Get|List|Head)/.test(op) && !op.startsWith('GetBucketPolicy'),
);

const KNOWN = [...new Set(Object.values(ACTION_OF_OP).flatMap((a) => [a.action, a.versioned ?? a.action]))];
const READS = new Set(
  READ_OPS.flatMap((op) => [
    ACTION_OF_OP[op]!.action,
    ACTION_OF_OP[op]!.versioned ?? ACTION_OF_OP[op]!.action,
  ]),
);

/** The actions this gateway carries out that a pattern (lower case) names. */
export function actionsMatching(pattern: string): string[] {
  return KNOWN.filter((a) => wildcardMatch(pattern, a));
}

export const isReadAction = (action: string): boolean => READS.has(action);

/** The action an operation is, for this request (with or without a version id). */
export function actionOf(op: string, versioned: boolean): (ActionOf & { name: string }) | undefined {
  const a = ACTION_OF_OP[op];
  if (!a) return undefined;
  return { ...a, name: versioned && a.versioned ? a.versioned : a.action };
}
