import { deepEqual, equal, match, ok, rejects, throws } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { quotaEnforcer } from '../../src/ops/quota/feature.ts';
import { NT_STATUS } from '../../src/protocols/smb/deps.ts';
import { SmbError } from '../../src/protocols/smb/errors.ts';
import { parseSmbName } from '../../src/protocols/smb/paths.ts';
import {
  readStream,
  resizeStream,
  STREAM_MAX,
  streamSize,
  writeStream,
} from '../../src/protocols/smb/streams.ts';
import { STREAM_CHUNK, STREAM_XATTR_PREFIX, streamChunkKey } from '../../src/storage/annotations.ts';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { waitFor } from '../support/wait.ts';
import { type SmbGateway, s3ClientOf, smbclient, startSmbGateway } from './fixture.ts';

/** The `stream: [name], N bytes` lines of smbclient's allinfo. */
const streamsOf = (allinfo: string) =>
  [...allinfo.matchAll(/^stream: \[(.*)\], (\d+) bytes$/gm)].map((m) => `${m[1]} ${m[2]}`);

describe('stream names (MS-FSCC 2.1.5: "file:name[:$DATA]")', () => {
  test('1 a named stream, the default stream, and names Windows refuses', () => {
    deepEqual(parseSmbName('dir\\a.txt:Zone.Identifier'), {
      components: ['dir', 'a.txt'],
      stream: 'Zone.Identifier',
    });
    deepEqual(parseSmbName('a.txt:s:$dAtA'), { components: ['a.txt'], stream: 's' });
    deepEqual(parseSmbName('a.txt::$DATA'), { components: ['a.txt'], defaultStream: true });
    // A slash separates components as a backslash does (Samba's check_path_syntax_smb2).
    deepEqual(parseSmbName('dir/sub\\._a.txt'), { components: ['dir', 'sub', '._a.txt'] });
    // Wildcards, controls and spaces are allowed in a stream name (smbtorture's streams.names2).
    deepEqual(parseSmbName('a.txt:?Stream*\n <x>|'), { components: ['a.txt'], stream: '?Stream*\n <x>|' });
    // A rename target names a stream of the same file.
    deepEqual(parseSmbName(':New:$DATA', { leadingSlash: 'strip' }), { components: [], stream: 'New' });
    for (const bad of [
      'a.txt:',
      'a.txt:s:',
      'a.txt:s:$FOO',
      'a.txt:s:$DATA:x',
      'a.txt:x\\y',
      'a.txt:x/y',
      'dir/',
      'a*.txt:s',
    ])
      throws(
        () => parseSmbName(bad),
        (e) => e instanceof SmbError && e.message !== '',
        bad,
      );
  });
});

describe('named streams over SMB (smbclient), beside S3', () => {
  let g: SmbGateway;
  let work: string;
  let s3: S3Client;
  const alice = 'alice%Stream-s1de';
  before(async () => {
    g = await startSmbGateway({ protocols: ['smb', 's3'] });
    const u = await g.user('alice', 'Stream-s1de');
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    await g.gw.ns.mkdir({ uid: u.uid, gid: u.gid, gids: [] }, exp.ino, 'bucket', 0o755);
    s3 = await s3ClientOf(g, 'alice');
    work = makeTempDir('smb-streams');
  });
  after(() => g?.stop());

  const run = (commands: string) => smbclient(g, alice, { share: 'export', commands, cwd: work });
  /** A stream's bytes, all of them. */
  const wholeStream = (ino: bigint, name: string) => readStream(g.gw.ns, ino, name, 0n, STREAM_MAX);

  test(
    '2 a downloaded file’s Zone.Identifier is kept beside it, listed by allinfo, read back under any case, invisible to S3',
    requireTools('smbclient'),
    async () => {
      writeFileSync(join(work, 'setup.exe'), 'the program');
      const zone = '[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=https://example.com/setup.exe\r\n';
      writeFileSync(join(work, 'zone.txt'), zone);
      const put = await run(
        'put setup.exe bucket\\setup.exe; put zone.txt bucket\\setup.exe:Zone.Identifier',
      );
      equal(put.code, 0, put.output);
      const info = await run('allinfo bucket\\setup.exe');
      equal(info.code, 0, info.output);
      deepEqual(streamsOf(info.stdout), ['::$DATA 11', `:Zone.Identifier:$DATA ${zone.length}`]);
      const get = await run('get bucket\\SETUP.EXE:zone.identifier zone.back');
      equal(get.code, 0, get.output);
      equal(readFileSync(join(work, 'zone.back'), 'utf8'), zone);
      // The object is the file's unnamed stream alone; the stream is no user metadata.
      const obj = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'setup.exe' }));
      equal(await obj.Body!.transformToString(), 'the program');
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'bucket', Key: 'setup.exe' }));
      deepEqual(head.Metadata ?? {}, {});
    },
  );

  test(
    '3 a 6 MiB stream round-trips through smbclient, kept in chunks that hold each byte once',
    requireTools('smbclient'),
    async () => {
      const big = randomBytes(6 * 1024 * 1024 + 123);
      writeFileSync(join(work, 'big.bin'), big);
      writeFileSync(join(work, 'doc.txt'), 'document');
      const put = await run('put doc.txt bucket\\doc.txt; put big.bin bucket\\doc.txt:thumb');
      equal(put.code, 0, put.output);
      const info = await run('allinfo bucket\\doc.txt');
      deepEqual(streamsOf(info.stdout), ['::$DATA 8', `:thumb:$DATA ${big.length}`]);
      const get = await run('get bucket\\doc.txt:thumb thumb.back');
      equal(get.code, 0, get.output);
      ok(readFileSync(join(work, 'thumb.back')).equals(big), 'the stream reads back whole');
      const f = await g.gw.ns.resolvePath(ROOT, '/export/bucket/doc.txt');
      const stored = [...Array(26).keys()].map((k) => g.gw.ns.getXattr(f.ino, streamChunkKey('thumb', k)));
      deepEqual(
        (await Promise.all(stored)).map((c) => c?.length),
        [...Array(24).fill(STREAM_CHUNK), 123, undefined],
        'chunks of STREAM_CHUNK bytes, the last one short',
      );
      const obj = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'doc.txt' }));
      equal(await obj.Body!.transformToString(), 'document');
    },
  );

  test(
    `3a a write far past the end leaves a hole of zeros; past ${STREAM_MAX} bytes is NT_STATUS_DISK_FULL and changes nothing`,
    requireTools('smbclient'),
    async () => {
      const u = (await g.gw.control.users.get('alice'))!;
      const cred = { uid: u.uid, gid: u.gid, gids: [] };
      const dir = await g.gw.ns.resolvePath(ROOT, '/export/bucket');
      const f = await g.gw.ns.create(cred, dir.ino, 'sparse.txt', 0o644);
      await writeStream(g.gw.ns, cred, f.ino, 'rsrc', 0n, Buffer.from('head'));
      const before = (await g.gw.ns.quotaUsage('uid', u.uid)).bytes;
      const tail = Buffer.from('0123456789');
      await writeStream(g.gw.ns, cred, f.ino, 'rsrc', BigInt(STREAM_MAX - 10), tail);
      equal(await streamSize(g.gw.ns, f.ino, 'rsrc'), BigInt(STREAM_MAX));
      // Only the last chunk is stored (up to the end), not the hole before it.
      equal((await g.gw.ns.quotaUsage('uid', u.uid)).bytes, before + BigInt(STREAM_CHUNK));
      deepEqual(streamsOf((await run('allinfo bucket\\sparse.txt')).stdout), [
        '::$DATA 0',
        `:rsrc:$DATA ${STREAM_MAX}`,
      ]);
      const around = await readStream(g.gw.ns, f.ino, 'rsrc', BigInt(STREAM_MAX - 20), 100);
      ok(around.equals(Buffer.concat([Buffer.alloc(10), tail])), 'zeros, then the bytes, then the end');
      deepEqual(await readStream(g.gw.ns, f.ino, 'rsrc', 0n, 6), Buffer.from('head\0\0'));
      await rejects(
        writeStream(g.gw.ns, cred, f.ino, 'rsrc', BigInt(STREAM_MAX - 10), Buffer.alloc(11, 1)),
        (e) => e instanceof SmbError && e.status === NT_STATUS.STATUS_DISK_FULL,
      );
      ok((await readStream(g.gw.ns, f.ino, 'rsrc', BigInt(STREAM_MAX - 10), 10)).equals(tail));
      // Cut back to 2 bytes: the far chunk is gone and its bytes are given back.
      await resizeStream(g.gw.ns, cred, f.ino, 'rsrc', 2n);
      equal(await streamSize(g.gw.ns, f.ino, 'rsrc'), 2n);
      equal((await g.gw.ns.quotaUsage('uid', u.uid)).bytes, before - 2n);
      deepEqual(await wholeStream(f.ino, 'rsrc'), Buffer.from('he'));
    },
  );

  test('3d a stream stored whole before chunks is read as it is, and cut into chunks at its first write', async () => {
    const u = (await g.gw.control.users.get('alice'))!;
    const cred = { uid: u.uid, gid: u.gid, gids: [] };
    const dir = await g.gw.ns.resolvePath(ROOT, '/export/bucket');
    const f = await g.gw.ns.create(cred, dir.ino, 'old.txt', 0o644);
    const old = randomBytes(1024 * 1024);
    await g.gw.ns.setXattrs(cred, f.ino, { [`${STREAM_XATTR_PREFIX}legacy`]: old });
    equal(await streamSize(g.gw.ns, f.ino, 'legacy'), BigInt(old.length));
    ok((await readStream(g.gw.ns, f.ino, 'legacy', 300_000n, 10)).equals(old.subarray(300_000, 300_010)));
    await writeStream(g.gw.ns, cred, f.ino, 'legacy', 600_000n, Buffer.from('new'));
    old.write('new', 600_000);
    equal((await g.gw.ns.getXattr(f.ino, streamChunkKey('legacy', 0)))?.length, STREAM_CHUNK);
    equal((await g.gw.ns.getXattr(f.ino, streamChunkKey('legacy', 3)))?.length, STREAM_CHUNK);
    ok((await wholeStream(f.ino, 'legacy')).equals(old), 'the same bytes, in chunks');
  });

  test(
    '3b streams count against the owner’s quota: a stream past the hard limit is NT_STATUS_DISK_FULL; deleting the file gives the bytes back',
    requireTools('smbclient'),
    async () => {
      const u = (await g.gw.control.users.get('alice'))!;
      writeFileSync(join(work, 'note.txt'), 'note');
      writeFileSync(join(work, 'side.bin'), randomBytes(600_000));
      equal((await run('put note.txt bucket\\quota.txt')).code, 0);
      const before = (await g.gw.ns.quotaUsage('uid', u.uid)).bytes;
      equal((await run('put side.bin bucket\\quota.txt:side')).code, 0);
      equal((await g.gw.ns.quotaUsage('uid', u.uid)).bytes, before + 600_000n, 'the stream is charged');
      await g.gw.control.quotas.set({ kind: 'uid', subjectId: u.uid, hardBytes: before + 1_000_000n });
      await waitFor(
        () => quotaEnforcer(g.gw)?.quota('uid', u.uid)?.hardBytes === before + 1_000_000n,
        'quota loaded',
      );
      try {
        const over = await run('put side.bin bucket\\quota.txt:second');
        match(over.output, /NT_STATUS_DISK_FULL/);
        equal(
          (await g.gw.ns.quotaUsage('uid', u.uid)).bytes,
          before + 600_000n,
          'nothing past the limit is kept',
        );
      } finally {
        await g.gw.control.quotas.remove('uid', u.uid);
      }
      equal((await run('del bucket\\quota.txt')).code, 0);
      equal(
        (await g.gw.ns.quotaUsage('uid', u.uid)).bytes,
        before - 4n,
        'the file and its streams are given back',
      );
    },
  );

  test('3c writes in flight together into one stream, across its chunks, all land (each rewrites its chunks in turn)', async () => {
    const u = (await g.gw.control.users.get('alice'))!;
    const cred = { uid: u.uid, gid: u.gid, gids: [] };
    const dir = await g.gw.ns.resolvePath(ROOT, '/export/bucket');
    const f = await g.gw.ns.create(cred, dir.ino, 'parallel.bin', 0o644);
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(40_000, i + 1));
    await Promise.all(chunks.map((c, i) => writeStream(g.gw.ns, cred, f.ino, 'side', BigInt(i * 40_000), c)));
    ok((await wholeStream(f.ino, 'side')).equals(Buffer.concat(chunks)));
  });

  test(
    '3e a folder’s stream is data: smbclient puts and gets it (a stream open reports no DIRECTORY attribute, and its own size)',
    requireTools('smbclient'),
    async () => {
      writeFileSync(join(work, 'label.txt'), 'blue folder');
      const r = await run(
        'mkdir bucket\\folder; put label.txt bucket\\folder:label; get bucket\\folder:label label.back',
      );
      equal(r.code, 0, r.output);
      match(r.output, /getting file .*folder:label of size 11/);
      equal(readFileSync(join(work, 'label.back'), 'utf8'), 'blue folder');
      const info = await run('allinfo bucket\\folder');
      match(info.stdout, /^attributes: D \(10\)$/m);
      deepEqual(streamsOf(info.stdout), [':label:$DATA 11']);
    },
  );

  test(
    '4 overwriting the file (an SMB put, an S3 PUT) drops its streams, as on NTFS',
    requireTools('smbclient'),
    async () => {
      writeFileSync(join(work, 'a.txt'), 'first');
      writeFileSync(join(work, 's.txt'), 'side');
      equal(
        (await run('put a.txt bucket\\a.txt; put s.txt bucket\\a.txt:side; put s.txt bucket\\b.txt:side'))
          .code,
        0,
      );
      deepEqual(streamsOf((await run('allinfo bucket\\a.txt')).stdout), ['::$DATA 5', ':side:$DATA 4']);
      // A stream of a file that did not exist made the file, empty.
      deepEqual(streamsOf((await run('allinfo bucket\\b.txt')).stdout), ['::$DATA 0', ':side:$DATA 4']);
      equal((await run('put a.txt bucket\\a.txt')).code, 0);
      deepEqual(streamsOf((await run('allinfo bucket\\a.txt')).stdout), ['::$DATA 5']);
      await s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'b.txt', Body: 'from S3' }));
      deepEqual(streamsOf((await run('allinfo bucket\\b.txt')).stdout), ['::$DATA 7']);
    },
  );
});
