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
