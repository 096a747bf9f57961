import { deepEqual, equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ROOT } from '../../src/storage/types.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { type ClientGateway, compileHarness, requireLibnfsDev, startClientGateway } from './gateway.ts';
import { harnessFields } from './harness-output.ts';

const TOOLS = requireTools('nfs-ls', 'nfs-cp', 'nfs-cat');
const HARNESS = requireLibnfsDev();
/** The libnfs tools and the harness act as this AUTH_SYS identity (URL uid/gid options). */
const UID = 2100;

describe('real NFS clients against the gateway', () => {
  let g: ClientGateway;
  let work: string;
  let harness: string | undefined;

  before(async () => {
    g = await startClientGateway();
    work = makeTempDir('nfs3-work');
    await g.gw.ns.ensureDirectory('/export/pub', 0o777);
    if (!HARNESS.skip) harness = await compileHarness();
  });
  after(() => g.stop());

  const as = `uid=${UID}&gid=${UID}`;
  /** An S3 client of a new account with that uid: S3 and NFS act as the same identity. */
  async function s3ClientAs(name: string, uid: number): Promise<S3Client> {
    const user = await g.gw.control.users.add({ name, uid });
    const key = await g.gw.control.s3Keys.create(user.name);
    return new S3Client({
      endpoint: `http://127.0.0.1:${g.s3Port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
      maxAttempts: 1,
    });
  }
  async function run(cmd: string, args: string[], timeoutMs = 120_000) {
    const r = await runCommand(cmd, args, { timeoutMs });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.output}`);
    return r.stdout;
  }

  test(
    '1 nfs-ls lists what the namespace holds (a symlink with its target length); nfs-cp of 20 MiB comes back byte-identical from nfs-cat, the namespace and S3',
    TOOLS,
    async () => {
      const data = randomBytes(20 * 1024 * 1024);
      const local = join(work, 'twenty.bin');
      writeFileSync(local, data);
      await run('nfs-cp', [local, g.url('/export/pub/twenty.bin', as)]);
      const pub = await g.gw.ns.resolvePath(ROOT, '/export/pub');
      await g.gw.ns.mkdir(ROOT, pub.ino, 'made-by-namespace', 0o755);
      await g.gw.ns.symlink(ROOT, pub.ino, 'link-to-twenty', 'twenty.bin');
      const listing = await run('nfs-ls', [g.url('/export/pub', as)]);
      ok(/^-.* 2100 +2100 +20971520 twenty\.bin$/m.test(listing), listing);
      ok(/^d.* made-by-namespace$/m.test(listing), listing);
      // A symlink's size is its target's length, as `ls -l` shows it.
      ok(/^l.* 10 link-to-twenty$/m.test(listing), listing);
      const back = join(work, 'back.bin');
      // nfs-cat writes bytes; runCommand decodes text, so the bytes go through a file.
      await run('sh', ['-c', `nfs-cat '${g.url('/export/pub/twenty.bin', as)}' > '${back}'`]);
      ok(readFileSync(back).equals(data), 'nfs-cat returns the bytes nfs-cp wrote');
      const attrs = await g.gw.ns.resolvePath(ROOT, '/export/pub/twenty.bin');
      equal(attrs.size, BigInt(data.length));
      equal(attrs.uid, UID, 'the AUTH_SYS uid owns the file');
      const chunks: Buffer[] = [];
      for (let off = 0; off < data.length; off += 8 << 20) {
        chunks.push((await g.gw.ns.read(ROOT, attrs.ino, BigInt(off), 8 << 20)).data);
      }
      ok(Buffer.concat(chunks).equals(data), 'the namespace holds the same bytes');
      if (!g.s3) return;
      const s3 = await s3ClientAs('nfsreader', UID);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'pub', Key: 'twenty.bin' }));
      ok(
        Buffer.from(await got.Body!.transformToByteArray()).equals(data),
        'S3 GetObject returns the same bytes',
      );
      s3.destroy();
    },
  );

  test('2 nfs-cp refuses to overwrite (GUARDED create answers EXIST)', TOOLS, async () => {
    const local = join(work, 'small.txt');
    writeFileSync(local, 'small\n');
    await run('nfs-cp', [local, g.url('/export/pub/small.txt', as)]);
    const again = await runCommand('nfs-cp', [local, g.url('/export/pub/small.txt', as)]);
    ok(again.code !== 0, 'second copy refused');
  });

  test('3 libnfs: rename, link, symlink, chmod, truncate, utimes', HARNESS, async () => {
    const out = await run(harness!, [g.url('/export', as), 'ops', '/pub/ops']);
    deepEqual(
      out.trim().split('\n'),
      ['mkdir', 'create', 'rename', 'link', 'symlink', 'chmod', 'truncate', 'utimes', 'unlink'].map(
        (s) => `ok ${s}`,
      ),
    );
  });

  test('4 libnfs: READDIRPLUS of 10,000 entries lists each with attributes', HARNESS, async () => {
    const dir = await g.gw.ns.ensureDirectory('/export/pub/many', 0o755);
    for (let i = 0; i < 10_000; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) => g.gw.ns.create(ROOT, dir.ino, `f${i + j}`, 0o644)),
      );
    }
    const out = await run(harness!, [g.url('/export', as), 'list', '/pub/many']);
    deepEqual(out.trim().split('\n').slice(0, 2), ['count 10000', 'attrs 10000']);
  });

  test(
    '5 libnfs: 8 sessions writing one 16 MiB file at once; the bytes read back in order',
    HARNESS,
    async () => {
      const out = await run(harness!, [
        g.url('/export', as),
        'writers',
        '/pub/shared.bin',
        '8',
        String(16 << 20),
      ]);
      deepEqual(out.trim().split('\n'), ['ok writers', 'ok verify']);
    },
  );

  test(
    '6 libnfs: 16 sessions from one client thread (the GETATTR bench client): every call answered',
    HARNESS,
    async () => {
      await g.gw.ns.ensureDirectory('/export/pub', 0o777);
      writeFileSync(join(work, 'attrs.bin'), 'x');
      await run('nfs-cp', [join(work, 'attrs.bin'), g.url('/export/pub/attrs.bin', as)]);
      const served = async () =>
        sampleValue((await scrape(g.opsUrl)).samples, 'gateway_requests_total', {
          protocol: 'nfs',
          op: 'GETATTR',
        }) ?? 0;
      const before = await served();
      // The harness exits non-zero on any reply that is not NFS3_OK.
      const out = await run(harness!, [g.url('/export', as), 'getattr', '/pub/attrs.bin', '16', '1', '1']);
      const figures = harnessFields(out);
      ok(Number(figures.calls) > 16, out);
      // The calls it counted (those sent in its window, after a warm-up) all reached the gateway.
      ok((await served()) - before >= Number(figures.calls), out);
      ok(Number(figures.p50_us) > 0 && Number(figures.p99_us) >= Number(figures.p50_us), out);
    },
  );

  test('7 libnfs: UNSTABLE writes then COMMIT; the bytes survive the gateway stopping', HARNESS, async () => {
    const out = await run(harness!, [g.url('/export', as), 'unstable', '/pub/unstable.bin', String(4 << 20)]);
    const lines = harnessFields(out);
    equal(lines.unstable, '64', 'every WRITE was answered UNSTABLE');
    equal(lines['write-verf'], lines['commit-verf'], 'COMMIT carries the WRITE verifier');
    await g.stop();
    const { openNamespace } = await import('../../src/storage/open.ts');
    const ns = await openNamespace({
      metadataUrl: g.gw.config.metadata.url,
      transportUrl: g.gw.config.transport.url,
    });
    try {
      const a = await ns.resolvePath(ROOT, '/export/pub/unstable.bin');
      equal(a.size, BigInt(4 << 20));
      const got = (await ns.read(ROOT, a.ino, 0n, 4 << 20)).data;
      const want = Buffer.alloc(4 << 20);
      for (let i = 0; i < want.length; i++)
        want[i] = Number(((BigInt(i) * 2654435761n) & 0xffff_ffffn) >> 13n) & 0xff;
      ok(got.equals(want), 'the committed bytes are in the reopened namespace');
    } finally {
      await ns.close();
    }
    g = await startClientGateway();
  });

  test(
    '8 an S3 object under Object Lock: libnfs reads it, but its owner cannot write, truncate, chmod, utimes, replace or remove it',
    HARNESS,
    async () => {
      const s3 = await s3ClientAs('archivist', UID + 1);
      try {
        await s3.send(new CreateBucketCommand({ Bucket: 'ledger', ObjectLockEnabledForBucket: true }));
        await s3.send(
          new PutObjectCommand({
            Bucket: 'ledger',
            Key: '2026.txt',
            Body: 'entry 1\n',
            ObjectLockMode: 'COMPLIANCE',
            ObjectLockRetainUntilDate: new Date(Date.now() + 3_600_000),
          }),
        );
        const asOwner = `uid=${UID + 1}&gid=${UID + 1}`;
        const perm = async () =>
          sampleValue((await scrape(g.opsUrl)).samples, 'gateway_error_codes_total', {
            protocol: 'nfs',
            code: 'NFS3ERR_PERM',
          }) ?? 0;
        const permBefore = await perm();
        const out = await run(harness!, [g.url('/export', asOwner), 'tamper', '/ledger/2026.txt']);
        const lines = out.trim().split('\n');
        deepEqual(
          lines.map((l) => l.split(':')[0]),
          ['write', 'truncate', 'chmod', 'utimes', 'replace', 'remove'].map((op) => `refused ${op}`),
          out,
        );
        // libnfs names the status for all but its write path (which reports EFAULT for any error):
        // the gateway's own count shows each refusal was NFS3ERR_PERM.
        for (const l of lines.slice(1)) ok(/NFS3ERR_PERM|Operation not permitted/.test(l), l);
        ok((await perm()) - permBefore >= 6, `NFS3ERR_PERM answered ${(await perm()) - permBefore} times`);
        const back = join(work, 'ledger.txt');
        await run('sh', ['-c', `nfs-cat '${g.url('/export/ledger/2026.txt', asOwner)}' > '${back}'`]);
        equal(readFileSync(back, 'utf8'), 'entry 1\n');
        const got = await s3.send(new GetObjectCommand({ Bucket: 'ledger', Key: '2026.txt' }));
        equal(await got.Body!.transformToString(), 'entry 1\n');
      } finally {
        s3.destroy();
      }
    },
  );
});
