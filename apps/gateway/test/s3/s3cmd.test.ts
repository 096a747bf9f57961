import { equal, match, ok } from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { type S3Gateway, startS3Gateway } from './fixture.ts';

describe('s3cmd 2.3 (path style, plain HTTP)', () => {
  let g: S3Gateway;
  let work: string;
  let s3cmd: (...args: string[]) => Promise<string>;
  before(async () => {
    g = await startS3Gateway();
    work = makeTempDir('s3cmd');
    const k = await g.user('s3cmduser');
    const host = `127.0.0.1:${g.port}`;
    s3cmd = async (...args) => {
      const r = await runCommand(
        toolPath('s3cmd') ?? 's3cmd',
        [
          `--access_key=${k.accessKeyId}`,
          `--secret_key=${k.secret}`,
          `--host=${host}`,
          `--host-bucket=${host}`,
          '--no-ssl',
          '-c',
          '/dev/null',
          ...args,
        ],
        { env: { HOME: work }, timeoutMs: 60_000 },
      );
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
