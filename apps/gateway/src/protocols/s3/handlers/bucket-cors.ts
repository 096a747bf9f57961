import type { S3Call, S3Reply } from '../context.ts';
import {
  CORS_XATTR,
  corsRulesIn,
  corsXml,
  encodeCors,
  gatewayRules,
  MAX_CORS_BYTES,
  parseCorsConfiguration,
} from '../cors/rules.ts';
import { S3Error } from '../deps.ts';
import { readSmallBody } from '../store-object.ts';
import { doc } from '../xml.ts';
import { openedBucket, ownedBucket } from './head-bucket.ts';

/**
 * GET /bucket?cors — the bucket's own rules; for a bucket without, the gateway's rule
 * (`s3.cors_origins`), which is what its browsers get; NoSuchCORSConfiguration when neither.
 */
export async function getBucketCors(call: S3Call): Promise<S3Reply> {
  const bucket = await openedBucket(call);
  const rules =
    corsRulesIn(await call.env.ns.listXattrs(bucket.ino)) ?? gatewayRules(call.env.config.corsOrigins);
  if (rules.length === 0)
    throw new S3Error('NoSuchCORSConfiguration', 'The CORS configuration does not exist', {
      BucketName: call.bucket,
    });
  return { body: doc('CORSConfiguration', corsXml(rules)) };
}

/**
 * PUT /bucket?cors — the bucket's owner replaces its rules, checked whole first: a refused
 * document changes nothing. From the next request on, they answer its browsers in place of the
 * gateway's rule.
 */
export async function putBucketCors(call: S3Call): Promise<S3Reply> {
  const rules = parseCorsConfiguration(await readSmallBody(call, MAX_CORS_BYTES));
  const bucket = await ownedBucket(call);
  await call.env.ns.setXattrs(call.cred, bucket.ino, { [CORS_XATTR]: encodeCors(rules) }, { quiet: true });
  const origins = [...new Set(rules.flatMap((r) => r.origins))];
  call.env.log.info(
    { bucket: call.bucket, rules: rules.length, origins, by: call.principal?.userName },
    `S3 bucket ${call.bucket}: CORS set (${rules.length} rule${rules.length === 1 ? '' : 's'}; origins ${origins.join(', ')})`,
  );
  return { status: 200 };
}

/** DELETE /bucket?cors — the bucket keeps no rules of its own; the gateway's rule applies again. */
export async function deleteBucketCors(call: S3Call): Promise<S3Reply> {
  const bucket = await ownedBucket(call);
  await call.env.ns.setXattrs(call.cred, bucket.ino, { [CORS_XATTR]: undefined }, { quiet: true });
  call.env.log.info(
    { bucket: call.bucket, by: call.principal?.userName },
    `S3 bucket ${call.bucket}: CORS rules deleted`,
  );
  return { status: 204 };
}
