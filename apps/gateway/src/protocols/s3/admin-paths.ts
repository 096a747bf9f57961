// The admin API paths behind `./cfs s3`, apart from the routes (admin-route.ts) so that the CLI
// names them without loading the S3 server.

export const S3_LIFECYCLE_PATH = '/admin/s3/lifecycle';
export const S3_LIFECYCLE_RUN_PATH = '/admin/s3/lifecycle/run';
export const S3_BUCKETS_PATH = '/admin/s3/buckets';
export const S3_UPLOADS_PATH = '/admin/s3/uploads';
/** `/admin/s3/uploads/ID/abort`. */
export const s3UploadAbortPath = (uploadId: string) =>
  `${S3_UPLOADS_PATH}/${encodeURIComponent(uploadId)}/abort`;
/** `/admin/s3/buckets/NAME/usage`. */
export const s3BucketUsagePath = (bucket: string) => `${S3_BUCKETS_PATH}/${encodeURIComponent(bucket)}/usage`;
