import type { S3Call, S3Reply } from '../context.ts';
import { bucketDir } from '../objects.ts';
import { esc, S3_NS, XML_HEAD } from '../xml.ts';

/** GET /bucket?location — the configured region (empty for us-east-1, as S3 answers). */
export async function getBucketLocation(call: S3Call): Promise<S3Reply> {
  await bucketDir(call.env, call.cred, call.bucket);
  const region = call.env.config.region === 'us-east-1' ? '' : call.env.config.region;
  return { body: `${XML_HEAD}<LocationConstraint xmlns="${S3_NS}">${esc(region)}</LocationConstraint>` };
}
