import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import {
  blockedSettings,
  encodePublicAccessBlock,
  PUBLIC_ACCESS_BLOCK_XATTR,
  parsePublicAccessBlock,
  publicAccessBlockIn,
  publicAccessBlockXml,
} from '../public-access-block.ts';
import { readSmallBody } from '../store-object.ts';
import { doc } from '../xml.ts';
import { openedBucket, ownedBucket } from './head-bucket.ts';

/** GET /bucket?publicAccessBlock — its block, or NoSuchPublicAccessBlockConfiguration. */
export async function getPublicAccessBlock(call: S3Call): Promise<S3Reply> {
  const bucket = await openedBucket(call);
  const block = publicAccessBlockIn(await call.env.ns.listXattrs(bucket.ino));
  if (!block)
    throw new S3Error(
      'NoSuchPublicAccessBlockConfiguration',
      'The public access block configuration was not found',
      {
        BucketName: call.bucket,
      },
    );
  return { body: doc('PublicAccessBlockConfiguration', publicAccessBlockXml(block)) };
}

/** PUT /bucket?publicAccessBlock — its owner sets what may never make it public. */
export async function putPublicAccessBlock(call: S3Call): Promise<S3Reply> {
  const block = parsePublicAccessBlock(await readSmallBody(call, 64 * 1024));
  const bucket = await ownedBucket(call);
  await call.env.ns.setXattrs(
    call.cred,
    bucket.ino,
    { [PUBLIC_ACCESS_BLOCK_XATTR]: encodePublicAccessBlock(block) },
    { quiet: true },
  );
  const on = blockedSettings(block);
  call.env.log.info(
    { bucket: call.bucket, block: on, by: call.principal?.userName },
    `S3 bucket ${call.bucket}: public access block set (${on.length > 0 ? on.join(', ') : 'nothing blocked'})`,
  );
  return { status: 200 };
}

/** DELETE /bucket?publicAccessBlock — the bucket keeps no block. */
export async function deletePublicAccessBlock(call: S3Call): Promise<S3Reply> {
  const bucket = await ownedBucket(call);
  await call.env.ns.setXattrs(
    call.cred,
    bucket.ino,
    { [PUBLIC_ACCESS_BLOCK_XATTR]: undefined },
    { quiet: true },
  );
  call.env.log.info(
    { bucket: call.bucket, by: call.principal?.userName },
    `S3 bucket ${call.bucket}: public access block deleted`,
  );
  return { status: 204 };
}
