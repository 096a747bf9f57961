import { equal, match, ok } from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { type S3Gateway, s3cmdRunner, startS3Gateway } from './fixture.ts';

describe('s3cmd 2.3 (path style, plain HTTP)', () => {
  let g: S3Gateway;
  let work: string;
  let s3cmd: (...args: string[]) => Promise<string>;
  before(async () => {
    g = await startS3Gateway();
    work = makeTempDir('s3cmd');
    const run = s3cmdRunner(g, await g.user('s3cmduser'), work);
    s3cmd = async (...args) => {
      const r = await run(...args);
      if (r.code !== 0) throw new Error(`s3cmd ${args.join(' ')} exited ${r.code}: ${r.output.slice(-2000)}`);
      return r.stdout;
    };
  });
  after(() => g?.stop());

  test('1 mb, put, ls, get, del, rb', requireTools('s3cmd'), async () => {
    await s3cmd('mb', 's3://s3cmd-bucket');
    const src = join(work, 'hello.txt');
    writeFileSync(src, 'hello from s3cmd\n');
    await s3cmd('put', src, 's3://s3cmd-bucket/docs/hello.txt');
    match(await s3cmd('ls', 's3://s3cmd-bucket/'), /DIR\s+s3:\/\/s3cmd-bucket\/docs\//);
    match(await s3cmd('ls', 's3://s3cmd-bucket/docs/'), /17\s+s3:\/\/s3cmd-bucket\/docs\/hello\.txt/);
    match(await s3cmd('ls'), /s3:\/\/s3cmd-bucket/);
    const out = join(work, 'out.txt');
    await s3cmd('get', '--force', 's3://s3cmd-bucket/docs/hello.txt', out);
    equal(readFileSync(out, 'utf8'), 'hello from s3cmd\n');
    await s3cmd('del', 's3://s3cmd-bucket/docs/hello.txt');
    ok(!(await s3cmd('ls', 's3://s3cmd-bucket/')).includes('docs'));
    await s3cmd('rb', 's3://s3cmd-bucket');
    ok(!(await s3cmd('ls')).includes('s3cmd-bucket'));
  });
});

describe('s3cmd lifecycle commands', () => {
  let g: S3Gateway;
  let work: string;
  let s3cmd: (...args: string[]) => Promise<{ code: number | null; stdout: string; output: string }>;
  before(async () => {
    g = await startS3Gateway();
    work = makeTempDir('s3cmd-lifecycle');
    s3cmd = s3cmdRunner(g, await g.user('s3cmdlc'), work);
  });
  after(() => g?.stop());

  test(
    '2 expire, getlifecycle, info, setlifecycle from a file, dellifecycle',
    requireTools('s3cmd'),
    async () => {
      equal((await s3cmd('mb', 's3://lc-bucket')).code, 0);
      const expire = await s3cmd('expire', 's3://lc-bucket', '--expiry-days=7', '--expiry-prefix=logs/');
      equal(expire.code, 0, expire.output);
      const got = await s3cmd('getlifecycle', 's3://lc-bucket');
      equal(got.code, 0, got.output);
      match(got.stdout, /<Prefix>logs\/<\/Prefix>/);
      match(got.stdout, /<Expiration>\s*<Days>7<\/Days>\s*<\/Expiration>/);
      match(
        (await s3cmd('info', 's3://lc-bucket')).stdout,
        /Expiration Rule: objects with key prefix 'logs\/' will expire in '7' day\(s\) after creation/,
      );

      const file = join(work, 'lifecycle.xml');
      writeFileSync(
        file,
        '<LifecycleConfiguration><Rule><ID>uploads</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>',
      );
      const set = await s3cmd('setlifecycle', file, 's3://lc-bucket');
      equal(set.code, 0, set.output);
      match(
        (await s3cmd('getlifecycle', 's3://lc-bucket')).stdout,
        /<DaysAfterInitiation>2<\/DaysAfterInitiation>/,
      );

      writeFileSync(
        file,
        '<LifecycleConfiguration><Rule><ID>cold</ID><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>',
      );
      const refused = await s3cmd('setlifecycle', file, 's3://lc-bucket');
      equal(refused.code === 0, false);
      match(refused.output, /NotImplemented/);
      match((await s3cmd('getlifecycle', 's3://lc-bucket')).stdout, /<ID>uploads<\/ID>/);

      equal((await s3cmd('dellifecycle', 's3://lc-bucket')).code, 0);
      const none = await s3cmd('getlifecycle', 's3://lc-bucket');
      equal(none.code === 0, false);
      match(none.output, /NoSuchLifecycleConfiguration/);
    },
  );
});
