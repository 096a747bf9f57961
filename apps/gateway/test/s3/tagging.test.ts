import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunResult } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, startS3Gateway } from './fixture.ts';
import { signed, xmlCode } from './raw.ts';

const BUCKET = 'tagged';

function failedWith(r: RunResult, code: string, op: string): void {
  ok(r.code !== 0, `expected ${code}, the command succeeded: ${r.output}`);
  match(r.stderr, new RegExp(`An error occurred \\(${code}\\) when calling the ${op} operation`));
}

type TagSet = Array<{ Key: string; Value: string }>;

/**
 * Object and bucket tags, as the aws CLI sets and reads them: on upload (x-amz-tagging), by
 * PutObjectTagging and PutBucketTagging, through copies and multipart uploads; S3's limits
 * refused with InvalidTag and nothing changed; tagging moves neither ETag nor Last-Modified.
 */
describe('S3 tagging: objects and buckets, with the aws CLI', () => {
  let g: S3Gateway;
  let aws: (...args: string[]) => Promise<RunResult>;
  let other: (...args: string[]) => Promise<RunResult>;
  let owner: Awaited<ReturnType<S3Gateway['user']>>;
  let work: string;
  let file: string;

  before(async () => {
    g = await startS3Gateway();
    work = makeTempDir('s3-tagging');
    owner = await g.user('owner');
    aws = awsCliRun(g, owner, work);
    other = awsCliRun(g, await g.user('other'), work);
    file = join(work, 'body.txt');
    writeFileSync(file, 'tagged content');
    equal((await aws('s3', 'mb', `s3://${BUCKET}`)).code, 0);
  });
  after(() => g?.stop());

  /** `aws s3api OP --bucket tagged …` as `who`. */
  const api = (who: typeof aws, op: string, ...args: string[]) =>
    who('s3api', op, '--bucket', BUCKET, ...args);
  const tagsOf = async (key: string): Promise<TagSet> => {
    const r = await api(aws, 'get-object-tagging', '--key', key);
    equal(r.code, 0, r.output);
    return (JSON.parse(r.stdout) as { TagSet: TagSet }).TagSet;
  };
  const head = async (key: string) => {
    const r = await api(aws, 'head-object', '--key', key);
    equal(r.code, 0, r.output);
    return JSON.parse(r.stdout) as { ETag: string; LastModified: string };
  };
  const tagCount = async (key: string): Promise<number | undefined> => {
    const r = await api(aws, 'get-object', '--key', key, join(work, 'out.bin'));
    equal(r.code, 0, r.output);
    return (JSON.parse(r.stdout) as { TagCount?: number }).TagCount;
  };

  test(
    '1 put-object --tagging keeps the tags in order; get-object counts them',
    requireTools('aws'),
    async () => {
      const r = await api(
        aws,
        'put-object',
        '--key',
        'doc.txt',
        '--body',
        file,
        '--tagging',
        'project=apollo&owner=Ann%20Lee',
      );
      equal(r.code, 0, r.output);
      deepEqual(await tagsOf('doc.txt'), [
        { Key: 'project', Value: 'apollo' },
        { Key: 'owner', Value: 'Ann Lee' },
      ]);
      equal(await tagCount('doc.txt'), 2);
    },
  );

  test(
    '2 put-object-tagging replaces the tags without moving the ETag or Last-Modified; delete clears them',
    requireTools('aws'),
    async () => {
      const before = await head('doc.txt');
      await new Promise((r) => setTimeout(r, 1100));
      const put = await api(
        aws,
        'put-object-tagging',
        '--key',
        'doc.txt',
        '--tagging',
        JSON.stringify({
          TagSet: [
            { Key: 'stage', Value: 'final' },
            { Key: 'empty', Value: '' },
          ],
        }),
      );
      equal(put.code, 0, put.output);
      deepEqual(await tagsOf('doc.txt'), [
        { Key: 'stage', Value: 'final' },
        { Key: 'empty', Value: '' },
      ]);
      deepEqual(await head('doc.txt'), before);
      const del = await api(aws, 'delete-object-tagging', '--key', 'doc.txt');
      equal(del.code, 0, del.output);
      deepEqual(await tagsOf('doc.txt'), []);
      equal(await tagCount('doc.txt'), undefined);
    },
  );

  test(
    '3 S3’s limits are InvalidTag and change nothing: 11 tags, a repeated key, aws: keys, long keys, odd characters',
    requireTools('aws'),
    async () => {
      equal(
        (
          await api(
            aws,
            'put-object-tagging',
            '--key',
            'doc.txt',
            '--tagging',
            'TagSet=[{Key=keep,Value=me}]',
          )
        ).code,
        0,
      );
      const eleven = Array.from({ length: 11 }, (_, i) => `{Key=k${i},Value=v}`).join(',');
      for (const set of [
        eleven,
        '{Key=a,Value=1},{Key=a,Value=2}',
        '{Key=aws:owner,Value=x}',
        `{Key=${'k'.repeat(129)},Value=x}`,
        '{Key=semi;colon,Value=x}',
      ]) {
        failedWith(
          await api(aws, 'put-object-tagging', '--key', 'doc.txt', '--tagging', `TagSet=[${set}]`),
          'InvalidTag',
          'PutObjectTagging',
        );
      }
      failedWith(
        await api(aws, 'put-object', '--key', 'dup.txt', '--body', file, '--tagging', 'a=1&a=2'),
        'InvalidTag',
        'PutObject',
      );
      equal(
        (await api(aws, 'head-object', '--key', 'dup.txt')).code !== 0,
        true,
        'the refused upload left nothing',
      );
      deepEqual(await tagsOf('doc.txt'), [{ Key: 'keep', Value: 'me' }]);

      const broken = await signed(g, owner, {
        method: 'PUT',
        path: `/${BUCKET}/doc.txt`,
        query: { tagging: '' },
        body: '<Tagging><TagSet><Tag><Key>x</Key></Tag></TagSet></Tagging>',
      });
      equal(broken.status, 400);
      equal(xmlCode(broken.body), 'MalformedXML');
      deepEqual(await tagsOf('doc.txt'), [{ Key: 'keep', Value: 'me' }]);
    },
  );

  test('4 copies keep the source’s tags unless told to replace them', requireTools('aws'), async () => {
    const kept = await api(aws, 'copy-object', '--key', 'copy.txt', '--copy-source', `${BUCKET}/doc.txt`);
    equal(kept.code, 0, kept.output);
    deepEqual(await tagsOf('copy.txt'), [{ Key: 'keep', Value: 'me' }]);
    const replaced = await api(
      aws,
      'copy-object',
      '--key',
      'copy2.txt',
      '--copy-source',
      `${BUCKET}/doc.txt`,
      '--tagging-directive',
      'REPLACE',
      '--tagging',
      'fresh=1',
    );
    equal(replaced.code, 0, replaced.output);
    deepEqual(await tagsOf('copy2.txt'), [{ Key: 'fresh', Value: '1' }]);
    // Onto itself: replacing only the tags is a change, as S3 allows.
    const self = await api(
      aws,
      'copy-object',
      '--key',
      'copy2.txt',
      '--copy-source',
      `${BUCKET}/copy2.txt`,
      '--tagging-directive',
      'REPLACE',
      '--tagging',
      'again=2',
    );
    equal(self.code, 0, self.output);
    deepEqual(await tagsOf('copy2.txt'), [{ Key: 'again', Value: '2' }]);
  });

  test('5 a multipart upload gets the tags it was created with', requireTools('aws'), async () => {
    const create = await api(aws, 'create-multipart-upload', '--key', 'big.bin', '--tagging', 'kind=backup');
    equal(create.code, 0, create.output);
    const uploadId = (JSON.parse(create.stdout) as { UploadId: string }).UploadId;
    const part = await api(
      aws,
      'upload-part',
      '--key',
      'big.bin',
      '--upload-id',
      uploadId,
      '--part-number',
      '1',
      '--body',
      file,
    );
    equal(part.code, 0, part.output);
    const etag = (JSON.parse(part.stdout) as { ETag: string }).ETag;
    const done = await api(
      aws,
      'complete-multipart-upload',
      '--key',
      'big.bin',
      '--upload-id',
      uploadId,
      '--multipart-upload',
      JSON.stringify({ Parts: [{ PartNumber: 1, ETag: etag }] }),
    );
    equal(done.code, 0, done.output);
    deepEqual(await tagsOf('big.bin'), [{ Key: 'kind', Value: 'backup' }]);
  });

  test(
    '6 only someone who may write the object tags it; reading tags takes read access',
    requireTools('aws'),
    async () => {
      failedWith(
        await api(other, 'put-object-tagging', '--key', 'doc.txt', '--tagging', 'TagSet=[{Key=x,Value=y}]'),
        'AccessDenied',
        'PutObjectTagging',
      );
      failedWith(
        await api(other, 'delete-object-tagging', '--key', 'doc.txt'),
        'AccessDenied',
        'DeleteObjectTagging',
      );
      const read = await api(other, 'get-object-tagging', '--key', 'doc.txt');
      // Objects are 0644: anyone may read them, and their tags.
      equal(read.code, 0, read.output);
      deepEqual(await tagsOf('doc.txt'), [{ Key: 'keep', Value: 'me' }]);
    },
  );

  test(
    '7 bucket tags: set by the owner, read back, removed; others refused; NoSuchTagSet when none',
    requireTools('aws'),
    async () => {
      const put = await api(
        aws,
        'put-bucket-tagging',
        '--tagging',
        'TagSet=[{Key=team,Value=storage},{Key=cost-center,Value=42}]',
      );
      equal(put.code, 0, put.output);
      const got = await aws('s3api', 'get-bucket-tagging', '--bucket', BUCKET);
      equal(got.code, 0, got.output);
      deepEqual((JSON.parse(got.stdout) as { TagSet: TagSet }).TagSet, [
        { Key: 'team', Value: 'storage' },
        { Key: 'cost-center', Value: '42' },
      ]);
      failedWith(
        await api(other, 'put-bucket-tagging', '--tagging', 'TagSet=[{Key=x,Value=y}]'),
        'AccessDenied',
        'PutBucketTagging',
      );
      failedWith(
        await other('s3api', 'delete-bucket-tagging', '--bucket', BUCKET),
        'AccessDenied',
        'DeleteBucketTagging',
      );
      equal((await aws('s3api', 'delete-bucket-tagging', '--bucket', BUCKET)).code, 0);
      failedWith(
        await aws('s3api', 'get-bucket-tagging', '--bucket', BUCKET),
        'NoSuchTagSet',
        'GetBucketTagging',
      );
    },
  );
});
