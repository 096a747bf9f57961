/** One lifecycle rule of a bucket, as an operator reads it. */
export interface LifecycleRuleView {
  id: string;
  enabled: boolean;
  /** What it does to what: "expire 30 days after last write — keys under \"logs/\"". */
  summary: string;
}

export interface LifecycleBucketView {
  bucket: string;
  rules: LifecycleRuleView[];
}

/** What one sweep did, per bucket with rules. Byte counts are decimal strings. */
export interface LifecycleSweepView {
  started: string;
  ms: number;
  expired: number;
  freedBytes: string;
  aborted: number;
  buckets: Array<{ bucket: string; expired: number; freedBytes: string; aborted: number; error?: string }>;
}

/** The buckets' lifecycle rules at work on this gateway (`./cfs s3 lifecycle`). */
export interface LifecycleView {
  /** False when this gateway serves no S3: nothing else is filled in. */
  served: boolean;
  buckets: LifecycleBucketView[];
  lastSweep: LifecycleSweepView | null;
  /** Null while a sweep runs, or when sweeps come only when asked (`s3.lifecycle_interval: 0`). */
  nextSweep: string | null;
  sweeping: boolean;
}

/** One bucket with its owner and settings (`./cfs s3 buckets`). */
export interface BucketView {
  name: string;
  /** The owner's account name, null for a uid no account holds. */
  owner: string | null;
  ownerUid: number;
  ownerGid: number;
  created: string;
  /** Octal permission bits of the bucket directory (`0755`). */
  mode: string;
  /** Anyone may read it without a key (`s3.public_read_buckets`, unless its block ignores that). */
  publicRead: boolean;
  /** Its public access block: the settings on (`IgnorePublicAcls`, …); empty when none. */
  publicAccessBlock: string[];
  /** Its lifecycle rules, one line each. */
  lifecycle: string[];
  tags: Array<{ key: string; value: string }>;
  /** S3 versioning: Enabled, Suspended, or null when never enabled. */
  versioning: 'Enabled' | 'Suspended' | null;
  /**
   * S3 Object Lock, null when not enabled: the default retention new objects get
   * (`GOVERNANCE 30d`, `COMPLIANCE 7y`), null when none.
   */
  objectLock: { defaultRetention: string | null } | null;
  /**
   * Its bucket policy, null when none: how many statements, and whether anyone may read by it
   * (not when its block restricts public buckets).
   */
  policy: { statements: number; public: boolean } | null;
  /**
   * Its own CORS rules (PutBucketCors), null when none (browsers then get the gateway's
   * `s3.cors_origins` rule): how many, and the origins they allow.
   */
  cors: { rules: number; origins: string[] } | null;
}

/** A bucket's objects and bytes, counted by walking it. */
export interface BucketUsageView {
  bucket: string;
  objects: number;
  /** Bytes, a decimal string. */
  bytes: string;
  /** Noncurrent versions and delete markers kept for the bucket (versioning), and their bytes. */
  versions: number;
  versionBytes: string;
  /** False when the count stopped at its time budget (a lower bound). */
  complete: boolean;
  ms: number;
}

/** An incomplete multipart upload: its parts hold space and their owner's quota. */
export interface UploadView {
  uploadId: string;
  bucket: string;
  key: string;
  uid: number;
  owner: string | null;
  initiated: string;
  lastActivity: string;
  parts: number;
  /** Bytes, a decimal string. */
  bytes: string;
}

/** What aborting an upload freed. */
export interface UploadAbortView {
  bucket: string;
  key: string;
  parts: number;
  freedBytes: string;
}
