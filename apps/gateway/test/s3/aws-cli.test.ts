import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCli, type S3Gateway, startS3Gateway } from './fixture.ts';

const MiB = 1024 * 1024;

for (const tls of [false, true]) {
  describe(`aws CLI v2 over ${tls ? 'HTTPS (self-signed, --ca-bundle)' : 'HTTP'}`, () => {
    let g: S3Gateway;
    let aws: (...args: string[]) => Promise<string>;
    let work: string;
    let key: { accessKeyId: string; secret: string };
    before(async () => {
      g = await startS3Gateway({ tls });
      work = makeTempDir('aws-cli');
      key = await g.user('cli');
      aws = awsCli(g, key, work);
    });
    after(() => g?.stop());

    test(
      '1 s3 mb, s3 cp of a 26 MiB file (multipart) up and down, byte for byte',
      requireTools('aws'),
      async () => {
        await aws('s3', 'mb', 's3://cli-bucket');
        const src = join(work, 'big.bin');
        const data = randomBytes(26 * MiB);
        writeFileSync(src, data);
        await aws('s3', 'cp', '--only-show-errors', src, 's3://cli-bucket/dir/big.bin');
        const head = JSON.parse(
          await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'dir/big.bin'),
        );
        equal(head.ContentLength, data.length);
        match(head.ETag, /-\d+"$/, 'a multipart ETag');
        const back = join(work, 'back.bin');
        await aws('s3', 'cp', '--only-show-errors', 's3://cli-bucket/dir/big.bin', back);
        ok(readFileSync(back).equals(data));
        equal((await g.gw.ns.meta.detached()).length, 0);
      },
    );

    test('2 s3 sync, s3 ls, list-objects-v2 with a delimiter', requireTools('aws'), async () => {
      const tree = join(work, 'tree');
      mkdirSync(join(tree, 'a', 'deep'), { recursive: true });
      writeFileSync(join(tree, 'a-b.txt'), 'dash');
      writeFileSync(join(tree, 'a', 'x.txt'), 'x');
      writeFileSync(join(tree, 'a', 'deep', 'y.txt'), 'y');
      await aws('s3', 'sync', '--only-show-errors', tree, 's3://cli-bucket/tree');
      const ls = await aws('s3', 'ls', 's3://cli-bucket/tree/');
      match(ls, /PRE a\//);
      match(ls, /a-b\.txt/);
      const v2 = JSON.parse(
        await aws(
          's3api',
          'list-objects-v2',
          '--bucket',
          'cli-bucket',
          '--prefix',
          'tree/',
          '--delimiter',
          '/',
        ),
      );
      deepEqual(
        v2.Contents.map((o: { Key: string }) => o.Key),
        ['tree/a-b.txt'],
      );
      deepEqual(
        v2.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix),
        ['tree/a/'],
      );
      const rec = await aws('s3', 'ls', '--recursive', 's3://cli-bucket/tree/');
      deepEqual(
        [...rec.matchAll(/tree\/\S+/g)].map((m) => m[0]),
        ['tree/a-b.txt', 'tree/a/deep/y.txt', 'tree/a/x.txt'],
      );
      // A second sync has nothing to do.
      equal((await aws('s3', 'sync', tree, 's3://cli-bucket/tree')).trim(), '');
    });

    test('3 s3api copy-object, delete-objects, s3 presign', requireTools('aws'), async () => {
      const cp = JSON.parse(
        await aws(
          's3api',
          'copy-object',
          '--bucket',
          'cli-bucket',
          '--key',
          'copy.txt',
          '--copy-source',
          'cli-bucket/tree/a-b.txt',
        ),
      );
      ok(cp.CopyObjectResult.ETag);
      const del = JSON.parse(
        await aws(
          's3api',
          'delete-objects',
          '--bucket',
          'cli-bucket',
          '--delete',
          '{"Objects":[{"Key":"copy.txt"},{"Key":"tree/a/x.txt"}]}',
        ),
      );
      deepEqual(del.Deleted.map((d: { Key: string }) => d.Key).sort(), ['copy.txt', 'tree/a/x.txt']);
      const url = (await aws('s3', 'presign', 's3://cli-bucket/tree/a-b.txt', '--expires-in', '300')).trim();
      if (!tls) {
        const r = await fetch(url);
        equal(r.status, 200);
        equal(await r.text(), 'dash');
      } else {
        const body = await new Promise<string>((resolve, reject) => {
          https
            .get(url, { ca: readFileSync(g.certFile!) }, (res) => {
              let text = '';
              res.on('data', (d) => {
                text += d;
              });
              res.on('end', () => resolve(`${res.statusCode} ${text}`));
            })
            .on('error', reject);
        });
        equal(body, '200 dash');
      }
    });

    test(
      '4 list-multipart-uploads pages past a common prefix to the end, one upload a page',
      requireTools('aws'),
      async () => {
        for (const k of ['mp/dir/a', 'mp/dir/b', 'mp/same', 'mp/same']) {
          await aws('s3api', 'create-multipart-upload', '--bucket', 'cli-bucket', '--key', k);
        }
        // One item a page: the CLI follows NextKeyMarker/NextUploadIdMarker, and stops with an
        // error if it is handed the same marker twice.
        const listed = JSON.parse(
          await aws(
            's3api',
            'list-multipart-uploads',
            '--bucket',
            'cli-bucket',
            '--prefix',
            'mp/',
            '--delimiter',
            '/',
            '--page-size',
            '1',
          ),
        );
        deepEqual(listed.CommonPrefixes, [{ Prefix: 'mp/dir/' }]);
        deepEqual(
          listed.Uploads.map((u: { Key: string }) => u.Key),
          ['mp/same', 'mp/same'],
        );
      },
    );
  });
}
