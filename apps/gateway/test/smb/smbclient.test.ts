import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PROTOCOL_SERVERS } from '../../src/daemon/protocols.ts';
import { quotaEnforcer } from '../../src/ops/quota/feature.ts';
import { aeadPool } from '../../src/protocols/smb/crypto/aead-pool.ts';
import { shortName } from '../../src/protocols/smb/short-names.ts';
import type { LocalBlobStore } from '../../src/storage/data/local-blobs.ts';
import { ROOT } from '../../src/storage/types.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import { type RunResult, runCommand } from '../support/proc.ts';
import { relayProxy } from '../support/proxy.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { waitFor } from '../support/wait.ts';
import { type SmbGateway, s3ClientOf, smbclient, startSmbGateway } from './fixture.ts';

const MiB = 1024 * 1024;

describe('smbclient (Samba 4.17) against the SMB server', () => {
  let g: SmbGateway;
  let work: string;
  let s3: S3Client;
  const alice = 'alice%Wonder-land1';
  before(async () => {
    g = await startSmbGateway({
      protocols: ['smb', 's3'],
      shares: [
        '{ name: staff, path: /staff, valid_groups: [staff] }',
        '{ name: ro, path: /ro, read_only: true }',
      ],
    });
    await g.user('alice', 'Wonder-land1', { groups: ['staff'] });
    await g.user('bob', 'Builder-2');
    s3 = await s3ClientOf(g, 'alice');
    work = makeTempDir('smbclient');
  });
  after(() => g?.stop());

  const run = (auth: string, share: string | undefined, commands?: string, options: string[] = []) =>
    smbclient(g, auth, { share, commands, options, cwd: work });

  test(
    '1 smbclient -L lists the configured shares and IPC$ (srvsvc NetShareEnumAll over DCE/RPC)',
    requireTools('smbclient'),
    async () => {
      const r = await run(alice, undefined);
      equal(r.code, 0, r.output);
      for (const share of ['export', 'staff', 'ro']) match(r.stdout, new RegExp(`\\n\\s+${share}\\s+Disk`));
      match(r.stdout, /IPC\$\s+IPC\s+IPC Service \(ClaudeFS Gateway\)/);
    },
  );

  test(
    '2 put, ls, get, allinfo, mkdir, rename, del, rmdir: bytes identical through the namespace',
    requireTools('smbclient'),
    async () => {
      const data = randomBytes(3 * MiB + 123);
      writeFileSync(join(work, 'up.bin'), data);
      const r = await run(
        alice,
        'export',
        'put up.bin data.bin; ls data.bin; allinfo data.bin; mkdir sub; rename data.bin sub\\moved.bin; get sub\\moved.bin back.bin',
      );
      equal(r.code, 0, r.output);
      match(r.stdout, /data\.bin\s+A\s+3145851/);
      match(r.stdout, /attributes: A \(20\)/);
      match(r.stdout, /stream: \[::\$DATA\], 3145851 bytes/);
      ok(readFileSync(join(work, 'back.bin')).equals(data), 'get returns what put sent');
      const moved = await g.gw.ns.resolvePath(ROOT, '/export/sub/moved.bin');
      equal(moved.size, BigInt(data.length));
      ok(
        (await g.gw.ns.read(ROOT, moved.ino, 0n, data.length)).data.equals(data),
        'the namespace holds the same bytes',
      );
      const u = await g.gw.control.users.get('alice');
      equal(moved.uid, u!.uid, 'owned by the session user');
      const r2 = await run(alice, 'export', 'del sub\\moved.bin; rmdir sub; ls');
      equal(r2.code, 0, r2.output);
      ok(!/sub/.test(r2.stdout), r2.stdout);
    },
  );

  for (const dialect of ['SMB2_02', 'SMB2_10', 'SMB3_00', 'SMB3_02', 'SMB3_11']) {
    for (const protection of ['sign', 'encrypt'] as const) {
      const smb3 = dialect.startsWith('SMB3');
      test(
        `3 ${dialect} with --client-protection=${protection}: ${protection === 'encrypt' && !smb3 ? 'refused by the client (no SMB3)' : 'put and get round-trip'}`,
        requireTools('smbclient'),
        async () => {
          const data = randomBytes(700_000);
          const name = `${dialect}-${protection}.bin`;
          writeFileSync(join(work, name), data);
          const r = await run(alice, 'export', `put ${name}; get ${name} ${name}.back; del ${name}`, [
            `--client-protection=${protection}`,
            '-m',
            dialect,
            `--option=client min protocol=${dialect}`,
          ]);
          if (protection === 'encrypt' && !smb3) {
            ok(r.code !== 0, r.output);
            match(r.output, /Encryption required/);
            return;
          }
          equal(r.code, 0, r.output);
          ok(readFileSync(join(work, `${name}.back`)).equals(data));
        },
      );
    }
  }

  test(
    '3a a 20 MiB put goes through the page cache (transport.direct_io is off by default): no bytes counted direct, the same bytes back',
    requireTools('smbclient'),
    async () => {
      const data = randomBytes(20 * MiB);
      writeFileSync(join(work, 'buffered.bin'), data);
      const r = await run(alice, 'export', 'put buffered.bin; get buffered.bin buffered.back');
      equal(r.code, 0, r.output);
      ok(readFileSync(join(work, 'buffered.back')).equals(data));
      const { samples } = await scrape(`http://127.0.0.1:${g.opsPort}`);
      equal(sampleValue(samples, 'gateway_direct_io_bytes_total', { op: 'write' }), 0);
      equal(g.gw.ns.data.directIo, undefined);
    },
  );

  /**
   * 20 MiB put and get with smbclient's `options`: 8 MiB WRITEs and READs whose frames come
   * from the shared frame pool and whose AES the AEAD workers do instead of the event loop.
   */
  async function largeEncryptedRoundTrip(label: string, options: string[]): Promise<void> {
    const data = randomBytes(20 * MiB + 12_345);
    const name = `large-${label}.bin`;
    writeFileSync(join(work, name), data);
    const before = { ...aeadPool.bytesDone };
    const r = await run(alice, 'export', `put ${name}; get ${name} ${name}.back; del ${name}`, [
      '--client-protection=encrypt',
      ...options,
    ]);
    equal(r.code, 0, r.output);
    ok(readFileSync(join(work, `${name}.back`)).equals(data));
    ok(aeadPool.bytesDone.open - before.open >= 16 * MiB, 'WRITEs decrypted on a worker');
    ok(aeadPool.bytesDone.seal - before.seal >= 16 * MiB, 'READ replies encrypted on a worker');
  }

  for (const dialect of ['SMB3_00', 'SMB3_11'] as const) {
    test(
      `3b ${dialect} encrypted, 20 MiB: large WRITEs and READs are opened and sealed on worker threads, bytes identical`,
      requireTools('smbclient'),
      // CCM on 3.0, GCM on 3.1.1.
      () => largeEncryptedRoundTrip(dialect, ['-m', dialect, `--option=client min protocol=${dialect}`]),
    );
  }

  for (const cipher of ['aes-256-gcm', 'aes-256-ccm'] as const) {
    test(
      `3b ${cipher}, a client set to the 256-bit ciphers only: 20 MiB put and get through the workers, bytes identical, the cipher in the connection registry`,
      requireTools('smbclient'),
      async () => {
        // The connection is still open while `get` runs: what the registry says is read then.
        let seen: unknown;
        const watch = setInterval(() => {
          for (const c of g.gw.connections.list())
            if (c.protocol === 'smb' && String(c.details.encryption).startsWith('in use'))
              seen = c.details.encryption;
        }, 5);
        try {
          await largeEncryptedRoundTrip(cipher, [`--option=client smb3 encryption algorithms=${cipher}`]);
        } finally {
          clearInterval(watch);
        }
        equal(seen, `in use (${cipher.toUpperCase()})`);
      },
    );
  }

  test(
    '3c an encrypted put cut off in the middle of a WRITE: the worker forgets the frame it was decrypting, and the next put works',
    requireTools('smbclient'),
    async () => {
      const data = randomBytes(32 * MiB);
      const name = 'cut.bin';
      writeFileSync(join(work, name), data);
      // The network drops 20 MiB into what smbclient sends: inside its third 8 MiB WRITE,
      // whose decryption on a worker has begun.
      const proxy = await relayProxy(g.port, (chunk, before) =>
        before + chunk.length > 20 * MiB ? 'cut' : chunk,
      );
      try {
        const r = await smbclient({ ...g, port: proxy.port }, alice, {
          share: 'export',
          commands: `put ${name}`,
          options: ['--client-protection=encrypt', '-m', 'SMB3_11'],
          cwd: work,
        });
        ok(r.code !== 0, r.output);
      } finally {
        proxy.close();
      }
      await waitFor(() => aeadPool.pendingJobs === 0, 'no decryption left pending on the workers');
      const again = await run(alice, 'export', `put ${name}; get ${name} ${name}.back; del ${name}`, [
        '--client-protection=encrypt',
      ]);
      equal(again.code, 0, again.output);
      ok(readFileSync(join(work, `${name}.back`)).equals(data));
    },
  );

  test(
    '3c names compare a character at a time, as Windows does: MASSE.TXT is not Maße.txt, in a small folder or one of 64 and more (indexed)',
    requireTools('smbclient'),
    async () => {
      writeFileSync(join(work, 'lower.txt'), 'Maße: measurements');
      writeFileSync(join(work, 'upper.txt'), 'MASSE: mass');
      const seed = Array.from({ length: 70 }, (_, i) => `put lower.txt f${i}`).join('; ');
      for (const [dir, fill] of [
        ['sharp-small', ''],
        ['sharp-big', seed],
      ] as const) {
        const made = await run(alice, 'export', `mkdir ${dir}; cd ${dir}; ${fill}${fill ? '; ' : ''}ls`);
        equal(made.code, 0, made.output);
        const r = await run(
          alice,
          'export',
          `cd ${dir}; put lower.txt Maße.txt; put upper.txt MASSE.TXT; get Maße.txt got-lower; get masse.txt got-upper; ls STRASSE.TXT`,
        );
        equal(
          readFileSync(join(work, 'got-lower'), 'utf8'),
          'Maße: measurements',
          `${dir}: Maße.txt overwritten`,
        );
        equal(readFileSync(join(work, 'got-upper'), 'utf8'), 'MASSE: mass', `${dir}: masse.txt is MASSE.TXT`);
        match(r.output, /NT_STATUS_NO_SUCH_FILE listing \\sharp-(small|big)\\STRASSE\.TXT/, r.output);
        const names = (await g.gw.ns.resolvePath(ROOT, `/export/${dir}`)).ino;
        const listed = (await g.gw.ns.readdir(ROOT, names, 0n, 1000)).entries.map((e) => e.name);
        ok(listed.includes('Maße.txt') && listed.includes('MASSE.TXT'), listed.join(' '));
      }
    },
  );

  test(
    '3d names Windows cannot hold, made over NFS or S3 (\\ : ? and the like), are listed by their 8.3 names, which open them; any long name opens by its 8.3 name',
    requireTools('smbclient'),
    async () => {
      const exp = await g.gw.ns.resolvePath(ROOT, '/export');
      const dir = await g.gw.ns.mkdir(ROOT, exp.ino, 'odd-names', 0o755);
      const names = [
        'col:on.txt',
        'back\\slash.txt',
        'q?x.txt',
        'trail.',
        'spaced ',
        'Long File Name 2.txt',
        'plain.txt',
      ];
      for (const [i, name] of names.entries()) {
        const f = await g.gw.ns.create(ROOT, dir.ino, name, 0o644);
        await g.gw.ns.write(ROOT, f.ino, 0n, Buffer.from(`bytes of ${i}`));
      }
      const ls = await run(alice, 'export', 'cd odd-names; ls');
      equal(ls.code, 0, ls.output);
      // Trailing dots and spaces too: Win32 strips them, so `trail.` would be opened as `trail`.
      for (const name of ['col:on.txt', 'back\\slash.txt', 'q?x.txt', 'trail.', 'spaced '])
        match(ls.stdout, new RegExp(`\\s${shortName(name).replace('.', '\\.')}\\s`));
      match(ls.stdout, /\sLong File Name 2\.txt\s/);
      match(ls.stdout, /\splain\.txt\s/);
      for (const [i, name] of names.entries()) {
        if (name === 'plain.txt') continue;
        const got = await run(alice, 'export', `cd odd-names; get ${shortName(name)} got-${i}`);
        equal(got.code, 0, got.output);
        equal(readFileSync(join(work, `got-${i}`), 'utf8'), `bytes of ${i}`, name);
      }
      const info = await run(alice, 'export', 'cd odd-names; allinfo "Long File Name 2.txt"');
      match(info.stdout, new RegExp(`altname: ${shortName('Long File Name 2.txt').replace('.', '\\.')}`));
    },
  );

  test(
    '3e names differing only by case, made over NFS or S3: `ls FOO` lists FOO alone and `del FOO` deletes it alone, as smbd does; a name no entry bears exactly still matches ignoring case',
    requireTools('smbclient'),
    async () => {
      const exp = await g.gw.ns.resolvePath(ROOT, '/export');
      const dir = await g.gw.ns.mkdir(ROOT, exp.ino, 'cases', 0o777);
      for (const name of ['FOO', 'foo', 'Foo']) await g.gw.ns.create(ROOT, dir.ino, name, 0o666);
      const names = async () =>
        (await g.gw.ns.readdir(ROOT, dir.ino, 0n, 100)).entries.map((e) => e.name).sort();
      const one = await run(alice, 'export', 'ls cases\\FOO');
      equal(one.code, 0, one.output);
      deepEqual(
        one.stdout.match(/^ {2}(\S+)\s+[ADHNRS]+\s+\d/gm)?.map((l) => l.trim().split(/\s+/)[0]),
        ['FOO'],
      );
      const anyCase = await run(alice, 'export', 'ls cases\\fOO');
      equal(anyCase.stdout.match(/^ {2}(\S+)\s+[ADHNRS]+\s+\d/gm)?.length, 3, anyCase.stdout);
      const del = await run(alice, 'export', 'del cases\\FOO');
      equal(del.code, 0, del.output);
      deepEqual(await names(), ['Foo', 'foo'], 'foo and Foo are other files');
    },
  );

  test(
    "3f symbolic links made over NFS list as their targets (a folder link as a folder, the target's size), dangling ones not at all, and `del` of a link removes the link, not its target, as smbd does",
    requireTools('smbclient'),
    async () => {
      const exp = await g.gw.ns.resolvePath(ROOT, '/export');
      const dir = await g.gw.ns.mkdir(ROOT, exp.ino, 'links', 0o777);
      const target = await g.gw.ns.create(ROOT, dir.ino, 'target.txt', 0o666);
      await g.gw.ns.write(ROOT, target.ino, 0n, Buffer.from('twelve bytes'));
      await g.gw.ns.mkdir(ROOT, dir.ino, 'tdir', 0o777);
      await g.gw.ns.symlink(ROOT, dir.ino, 'ln-file', 'target.txt');
      await g.gw.ns.symlink(ROOT, dir.ino, 'ln-dir', 'tdir');
      await g.gw.ns.symlink(ROOT, dir.ino, 'ln-dangling', 'nowhere');
      const ls = await run(alice, 'export', 'cd links; ls');
      equal(ls.code, 0, ls.output);
      match(ls.stdout, /^ {2}ln-file\s+[AN]\s+12\s/m, ls.stdout);
      match(ls.stdout, /^ {2}ln-dir\s+D\s+0\s/m, ls.stdout);
      ok(!/ln-dangling/.test(ls.stdout), ls.stdout);
      const del = await run(alice, 'export', 'cd links; del ln-file');
      equal(del.code, 0, del.output);
      const names = (await g.gw.ns.readdir(ROOT, dir.ino, 0n, 100)).entries.map((e) => e.name).sort();
      deepEqual(names, ['ln-dangling', 'ln-dir', 'target.txt', 'tdir'], 'the link went, its target stayed');
      equal((await g.gw.ns.getattr(target.ino)).size, 12n);
    },
  );

  test(
    '4 a wrong password, an unknown user and an anonymous logon get NT_STATUS_LOGON_FAILURE',
    requireTools('smbclient'),
    async () => {
      for (const auth of ['alice%wrong', 'mallory%whatever']) {
        const r = await run(auth, 'export', 'ls');
        ok(r.code !== 0);
        match(r.output, /NT_STATUS_LOGON_FAILURE/);
      }
      const anon = await smbclient(g, '', { share: 'export', commands: 'ls', options: ['-N'], cwd: work });
      ok(anon.code !== 0);
      match(anon.output, /NT_STATUS_LOGON_FAILURE|NT_STATUS_ACCESS_DENIED/);
    },
  );

  test(
    "4b a disabled account with its right password gets NT_STATUS_ACCOUNT_DISABLED (with a wrong one, LOGON_FAILURE: the state is no guesser's to learn)",
    requireTools('smbclient'),
    async () => {
      await g.gw.control.users.setDisabled('bob', true);
      try {
        const right = await run('bob%Builder-2', 'export', 'ls');
        ok(right.code !== 0);
        match(right.output, /NT_STATUS_ACCOUNT_DISABLED/);
        const wrong = await run('bob%Not-his-1', 'export', 'ls');
        match(wrong.output, /NT_STATUS_LOGON_FAILURE/);
      } finally {
        await g.gw.control.users.setDisabled('bob', false);
      }
      equal((await run('bob%Builder-2', 'export', 'ls')).code, 0);
    },
  );

  test(
    '5 valid_groups: bob (not in staff) gets NT_STATUS_ACCESS_DENIED on TREE_CONNECT, alice gets in',
    requireTools('smbclient'),
    async () => {
      const bob = await run('bob%Builder-2', 'staff', 'ls');
      ok(bob.code !== 0);
      match(bob.output, /tree connect failed: NT_STATUS_ACCESS_DENIED/);
      const a = await run(alice, 'staff', 'ls');
      equal(a.code, 0, a.output);
    },
  );

  test(
    '6 a read-only share refuses put with NT_STATUS_ACCESS_DENIED; an unknown share is NT_STATUS_BAD_NETWORK_NAME',
    requireTools('smbclient'),
    async () => {
      writeFileSync(join(work, 'ro.txt'), 'x');
      const r = await run(alice, 'ro', 'put ro.txt');
      match(r.output, /NT_STATUS_ACCESS_DENIED opening remote file/);
      const missing = await run(alice, 'nosuch', 'ls');
      match(missing.output, /NT_STATUS_BAD_NETWORK_NAME/);
    },
  );

  test(
    '7 mode bits decide: a 0600 file of bob cannot be read by alice (NT_STATUS_ACCESS_DENIED)',
    requireTools('smbclient'),
    async () => {
      const b = await g.gw.control.users.get('bob');
      const cred = { uid: b!.uid, gid: b!.gid, gids: [] };
      const exp = await g.gw.ns.resolvePath(ROOT, '/export');
      const f = await g.gw.ns.create(cred, exp.ino, 'bobs-secret.txt', 0o600);
      await g.gw.ns.write(cred, f.ino, 0n, Buffer.from('for bob only'));
      const r = await run(alice, 'export', 'get bobs-secret.txt nope.txt');
      match(r.output, /NT_STATUS_ACCESS_DENIED/);
      const rb = await run('bob%Builder-2', 'export', 'get bobs-secret.txt mine.txt');
      equal(rb.code, 0, rb.output);
      equal(readFileSync(join(work, 'mine.txt'), 'utf8'), 'for bob only');
    },
  );

  test(
    '8 across protocols: SMB put is the S3 object, S3 put is an SMB file, renames and deletes show at once',
    requireTools('smbclient'),
    async () => {
      const data = randomBytes(1 * MiB + 7);
      writeFileSync(join(work, 'cross.bin'), data);
      const exp = await g.gw.ns.resolvePath(ROOT, '/export');
      const u = await g.gw.control.users.get('alice');
      try {
        await g.gw.ns.mkdir({ uid: u!.uid, gid: u!.gid, gids: [] }, exp.ino, 'bucket', 0o755);
      } catch {}
      equal((await run(alice, 'export', 'put cross.bin bucket\\cross.bin')).code, 0);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'cross.bin' }));
      ok(
        Buffer.from(await got.Body!.transformToByteArray()).equals(data),
        'S3 GET returns the SMB-written bytes',
      );

      await s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'from-s3.txt', Body: 'hello from S3' }));
      const r = await run(
        alice,
        'export',
        'get bucket\\from-s3.txt s3.txt; rename bucket\\cross.bin bucket\\renamed.bin',
      );
      equal(r.code, 0, r.output);
      equal(readFileSync(join(work, 's3.txt'), 'utf8'), 'hello from S3');
      const renamed = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'renamed.bin' }));
      ok(
        Buffer.from(await renamed.Body!.transformToByteArray()).equals(data),
        'the SMB rename is the S3 key at once',
      );

      await s3.send(new DeleteObjectCommand({ Bucket: 'bucket', Key: 'from-s3.txt' }));
      const ls = await run(alice, 'export', 'ls bucket\\*');
      ok(!/from-s3\.txt/.test(ls.stdout) && /renamed\.bin/.test(ls.stdout), ls.stdout);
    },
  );

  test(
    '9 a hard quota over SMB: the put fails with NT_STATUS_DISK_FULL and nothing past the limit is kept',
    requireTools('smbclient'),
    async () => {
      const u = await g.gw.control.users.add({ name: 'carol', password: 'Quota-limit3', uid: 3900 });
      await g.gw.control.quotas.set({ kind: 'uid', subjectId: u.uid, hardBytes: 1_000_000n, hardUnit: 'MB' });
      await waitFor(() => quotaEnforcer(g.gw)?.quota('uid', u.uid)?.hardBytes === 1_000_000n, 'quota loaded');
      writeFileSync(join(work, 'big.bin'), randomBytes(3 * MiB));
      const r = await run('carol%Quota-limit3', 'export', 'put big.bin carol.bin');
      match(r.output, /NT_STATUS_DISK_FULL/);
      ok((await g.gw.ns.quotaUsage('uid', u.uid)).bytes <= 1_000_000n);
    },
  );

  test(
    '10 an S3 object under Object Lock is read-only over SMB: readable, but del and put over it are refused',
    requireTools('smbclient'),
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'vault', ObjectLockEnabledForBucket: true }));
      await s3.send(
        new PutObjectCommand({
          Bucket: 'vault',
          Key: 'minutes.txt',
          Body: 'approved',
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: new Date(Date.now() + 3_600_000),
        }),
      );
      writeFileSync(join(work, 'forged.txt'), 'forged');
      const info = await run(
        alice,
        'export',
        'allinfo vault\\minutes.txt; get vault\\minutes.txt minutes.txt',
      );
      equal(info.code, 0, info.output);
      match(info.stdout, /attributes: RA \(21\)/);
      equal(readFileSync(join(work, 'minutes.txt'), 'utf8'), 'approved');
      const del = await run(alice, 'export', 'del vault\\minutes.txt');
      match(del.output, /NT_STATUS_CANNOT_DELETE/);
      const put = await run(alice, 'export', 'put forged.txt vault\\minutes.txt');
      match(put.output, /NT_STATUS_ACCESS_DENIED/);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'minutes.txt' }));
      equal(await got.Body!.transformToString(), 'approved');
    },
  );
});

describe('smbclient with smb.require_signing', () => {
  let g: SmbGateway;
  let work: string;
  before(async () => {
    g = await startSmbGateway({ requireSigning: true });
    await g.user('alice', 'Wonder-land1');
    work = makeTempDir('smbclient-signing');
  });
  after(() => g?.stop());

  test(
    '1 a client that does not ask for signing still signs (the server requires it) and works',
    requireTools('smbclient'),
    async () => {
      writeFileSync(join(work, 'a.txt'), 'signed');
      const r = await smbclient(g, 'alice%Wonder-land1', {
        share: 'export',
        commands: 'put a.txt; get a.txt b.txt',
        options: ['--client-protection=off'],
        cwd: work,
      });
      equal(r.code, 0, r.output);
      equal(readFileSync(join(work, 'b.txt'), 'utf8'), 'signed');
    },
  );
});

describe('smbclient with transport.direct_io: true', () => {
  let g: SmbGateway;
  let work: string;
  before(async () => {
    g = await startSmbGateway({ extraYaml: 'transport: { direct_io: true }' });
    await g.user('alice', 'Wonder-land1');
    work = makeTempDir('smbclient-direct');
  });
  after(() => g?.stop());

  test(
    '1 a 20 MiB put: its 8 MiB WRITEs reach the disk past the page cache (gateway_direct_io_bytes_total), the get and the file hold the same bytes',
    requireTools('smbclient'),
    async () => {
      const data = randomBytes(20 * MiB + 777);
      writeFileSync(join(work, 'direct.bin'), data);
      const direct = async (op: string) =>
        sampleValue(
          (await scrape(`http://127.0.0.1:${g.opsPort}`)).samples,
          'gateway_direct_io_bytes_total',
          { op },
        );
      const [w0, r0] = [await direct('write'), await direct('read')];
      const r = await smbclient(g, 'alice%Wonder-land1', {
        share: 'export',
        commands: 'put direct.bin direct.bin; get direct.bin direct.back',
        cwd: work,
      });
      equal(r.code, 0, r.output);
      ok(readFileSync(join(work, 'direct.back')).equals(data), 'get returns what put sent');
      // Two whole 8 MiB WRITEs at aligned offsets; the 4 MiB tail is not a multiple of 4 KiB.
      equal((await direct('write'))! - w0!, 16 * MiB);
      ok((await direct('read'))! - r0! >= 16 * MiB, 'large READs of what was written direct go direct');
      const file = await g.gw.ns.resolvePath(ROOT, '/export/direct.bin');
      ok(readFileSync((g.gw.ns.data as LocalBlobStore).pathOf(file.ino)).equals(data), 'the file on disk');
    },
  );
});

describe('smbclient and libnfs on one namespace', {
  skip: PROTOCOL_SERVERS.nfs ? undefined : 'this build has no NFS server',
}, () => {
  let g: SmbGateway;
  let work: string;
  before(async () => {
    g = await startSmbGateway({ protocols: ['smb', 'nfs'] });
    await g.user('alice', 'Wonder-land1');
    work = makeTempDir('smb-nfs');
  });
  after(() => g?.stop());

  const url = (path: string) =>
    `nfs://127.0.0.1/export/${path}?nfsport=${g.nfsPort}&mountport=${g.mountPort}&version=3&uid=0&gid=0`;

  test(
    '1 an SMB put is byte-identical over NFS; an SMB rename and delete are seen by NFS at once',
    requireTools('smbclient', 'nfs-cat', 'nfs-ls'),
    async () => {
      const data = randomBytes(2 * MiB + 11);
      writeFileSync(join(work, 'x.bin'), data);
      const put = await smbclient(g, 'alice%Wonder-land1', {
        share: 'export',
        commands: 'put x.bin via-smb.bin',
        cwd: work,
      });
      equal(put.code, 0, put.output);
      const out = join(work, 'nfs.bin');
      const cp = await runCommand('sh', ['-c', `${toolPath('nfs-cat')} '${url('via-smb.bin')}' > '${out}'`], {
        timeoutMs: 60_000,
      });
      equal(cp.code, 0, cp.output);
      ok(readFileSync(out).equals(data), 'NFS READ returns the SMB-written bytes');
      const mv = await smbclient(g, 'alice%Wonder-land1', {
        share: 'export',
        commands: 'rename via-smb.bin renamed.bin',
        cwd: work,
      });
      equal(mv.code, 0, mv.output);
      const ls = await runCommand(toolPath('nfs-ls')!, [url('')], { timeoutMs: 60_000 });
      ok(/renamed\.bin/.test(ls.stdout) && !/via-smb\.bin/.test(ls.stdout), ls.output);
      await smbclient(g, 'alice%Wonder-land1', { share: 'export', commands: 'del renamed.bin', cwd: work });
      const ls2 = await runCommand(toolPath('nfs-ls')!, [url('')], { timeoutMs: 60_000 });
      ok(!/renamed\.bin/.test(ls2.stdout), ls2.output);
    },
  );

  test(
    "2 a 1,500-entry folder lists whole over both, each page's attributes read with it, not one entry at a time",
    requireTools('smbclient', 'nfs-ls'),
    async () => {
      const { ns } = g.gw;
      const dir = await ns.mkdir(ROOT, (await ns.resolvePath(ROOT, '/export')).ino, 'many', 0o777);
      const names = Array.from({ length: 1500 }, (_, i) => `entry-${i}.txt`);
      for (let i = 0; i < names.length; i += 250) {
        await Promise.all(names.slice(i, i + 250).map((n) => ns.create(ROOT, dir.ino, n, 0o644)));
      }
      const listed = (out: string) => new Set(out.match(/entry-\d+\.txt/g));
      // Statements the metadata store runs for one listing, from cold caches (background
      // probes add a few): one entry at a time it would be a few per entry.
      const statementsOf = async (list: () => Promise<RunResult>) => {
        ns.invalidate();
        const before = ns.meta.statements;
        const r = await list();
        equal(r.code, 0, r.output);
        equal(listed(r.stdout).size, names.length, r.output.slice(-500));
        return ns.meta.statements - before;
      };
      const smb = await statementsOf(() =>
        smbclient(g, 'alice%Wonder-land1', { share: 'export', commands: 'cd many; ls', cwd: work }),
      );
      ok(smb < 100, `smbclient ls of 1,500 entries ran ${smb} statements`);
      const nfs = await statementsOf(() =>
        runCommand(toolPath('nfs-ls')!, [url('many')], { timeoutMs: 60_000 }),
      );
      ok(nfs < 150, `nfs-ls of 1,500 entries ran ${nfs} statements`);
    },
  );
});
