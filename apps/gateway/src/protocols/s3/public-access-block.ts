import { bucketXattrs } from './bucket-xattrs.ts';
import type { S3Env } from './context.ts';
import { S3Error } from './deps.ts';
import { el, malformed, parseXml, text } from './xml.ts';

/**
 * A bucket's public access block (PutPublicAccessBlock): its owner's guard against the bucket
 * becoming public, whatever the gateway's configuration or a later policy or ACL says.
 * - BlockPublicAcls: a public ACL (public-read, AllUsers) is refused on writes and ACL calls.
 * - IgnorePublicAcls: `s3.public_read_buckets` (the public ACL of this gateway) lets no one in.
 * - BlockPublicPolicy: a policy that lets anyone read is refused.
 * - RestrictPublicBuckets: a policy's Allow lets no anonymous caller in.
 */
export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

export const PUBLIC_ACCESS_BLOCK_XATTR = 's3.public-access-block';

const FIELDS: ReadonlyArray<keyof PublicAccessBlock> = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
];

/** Nothing blocked: a bucket without a block. */
export const NO_BLOCK: PublicAccessBlock = Object.freeze({
  BlockPublicAcls: false,
  IgnorePublicAcls: false,
  BlockPublicPolicy: false,
  RestrictPublicBuckets: false,
});

/** A PutPublicAccessBlock body: each setting true or false, left out: false. */
export function parsePublicAccessBlock(body: string): PublicAccessBlock {
  const root = parseXml(body, 'PublicAccessBlockConfiguration');
  for (const tag of Object.keys(root))
    if (!(FIELDS as readonly string[]).includes(tag))
      throw malformed(`<${tag}> is not part of a PublicAccessBlockConfiguration`);
  const out = { ...NO_BLOCK };
  for (const f of FIELDS) {
    const v = text(root, f)?.trim();
    if (v === undefined) continue;
    if (v !== 'true' && v !== 'false') throw malformed(`<${f}> must be true or false`);
    out[f] = v === 'true';
  }
  return out;
}

export function publicAccessBlockXml(b: PublicAccessBlock): string {
  return FIELDS.map((f) => el(f, b[f])).join('');
}

export function encodePublicAccessBlock(b: PublicAccessBlock): Buffer {
  return Buffer.from(JSON.stringify(b));
}

/**
 * The block in a bucket's attributes; undefined when it has none. A value this version cannot
 * read blocks everything — closed, not open — until it is put again.
 */
export function publicAccessBlockIn(xattrs: ReadonlyMap<string, Buffer>): PublicAccessBlock | undefined {
  const raw = xattrs.get(PUBLIC_ACCESS_BLOCK_XATTR);
  if (!raw) return undefined;
  let block = decoded.get(raw);
  if (!block) {
    try {
      const parsed = JSON.parse(raw.toString()) as Partial<PublicAccessBlock>;
      block = Object.fromEntries(FIELDS.map((f) => [f, parsed[f] === true])) as unknown as PublicAccessBlock;
    } catch {
      block = {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      };
    }
    decoded.set(raw, block);
  }
  return block;
}

const decoded = new WeakMap<Buffer, PublicAccessBlock>();

/** The block of `bucket` (NO_BLOCK when none, or no such bucket), from the caches when they have it. */
export async function publicAccessBlockOf(env: S3Env, bucket: string): Promise<PublicAccessBlock> {
  const found = await bucketXattrs(env, bucket);
  return (found && publicAccessBlockIn(found.xattrs)) ?? NO_BLOCK;
}

/** The settings on, by name (`./cfs s3 buckets`, the console); empty when none. */
export function blockedSettings(b: PublicAccessBlock | undefined): string[] {
  return b ? FIELDS.filter((f) => b[f]) : [];
}

/** The refusal of what a block forbids, naming the setting. */
export function blockedBy(setting: keyof PublicAccessBlock, what: string): S3Error {
  return new S3Error(
    'AccessDenied',
    `Access Denied: ${what} is refused by the bucket's public access block (${setting}).`,
  );
}
