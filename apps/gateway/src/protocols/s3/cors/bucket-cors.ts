import { bucketXattrs, cachedBucketXattrs } from '../bucket-xattrs.ts';
import type { S3Env } from '../context.ts';
import { type CorsRule, corsRulesIn, gatewayRules } from './rules.ts';

/**
 * The CORS rules in force for a request to `bucket`: the bucket's own, or the gateway's rule
 * (`s3.cors_origins`) for a bucket without (or no bucket: the service, a name that is none).
 * From the caches without waiting when they hold the bucket; a store that cannot answer leaves
 * the gateway's rule, so that the page can at least read the error.
 */
export function corsRulesFor(
  env: S3Env,
  bucket: string | undefined,
): readonly CorsRule[] | Promise<readonly CorsRule[]> {
  const fallback = gatewayRules(env.config.corsOrigins);
  if (bucket === undefined) return fallback;
  const cached = cachedBucketXattrs(env, bucket);
  if (cached) return corsRulesIn(cached) ?? fallback;
  return bucketXattrs(env, bucket).then(
    (found) => (found && corsRulesIn(found.xattrs)) ?? fallback,
    () => fallback,
  );
}
