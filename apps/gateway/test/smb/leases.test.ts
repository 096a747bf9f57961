import { deepEqual, equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PROTOCOL_SERVERS } from '../../src/daemon/protocols.ts';
import { NfsHandles } from '../../src/protocols/nfs/v3/handle.ts';
import { type Nlm4Lock, Nlm4Stat } from '../../src/protocols/nlm/codec.ts';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import type { SmbStatus } from '../../src/protocols/smb/status-report.ts';
import { ROOT } from '../../src/storage/types.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import { compileHarness, requireLibnfsDev } from '../nfs-v3/gateway.ts';
import { NlmTestClient } from '../nlm/client.ts';
import { runCommand } from '../support/proc.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import {
  closeBody,
  connectedClient,
  createBody,
  createContexts,
  fileIdOf,
  type Reply,
  readBody,
  type TestClient,
  writeBody,
} from './client.ts';
import { type SmbGateway, s3ClientOf, startSmbGateway } from './fixture.ts';
import {
  BREAK_MID,
  H,
  LEASE,
  leaseAck,
  leaseOf,
  leaseV2,
  nthBreak,
  openBehindBreak,
  openLeased,
  R,
  SMB3,
  W,
} from './lease-wire.ts';

/**
 * Leases seen from the wire (MS-SMB2 §2.2.13.2.10, §2.2.23.2, §2.2.24.2) with the raw client,
 * and recalled by the other protocols: an NFS write (a libnfs client), an NLM lock (lockd's
 * calls, the kernel client cannot mount here) or an S3 PUT/DELETE (the AWS SDK) of a file an SMB
 * client caches waits until the client has acknowledged the break.
 * smbtorture's smb2.lease and smb2.oplock suites check the SMB rules in depth.
 */

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
describe('SMB leases, and their recall by NFS and S3', {
  skip: PROTOCOL_SERVERS.nfs && PROTOCOL_SERVERS.s3 ? undefined : 'this build lacks the NFS or S3 server',
}, () => {
  let g: SmbGateway;
  let s3: S3Client;
  let harness: string | undefined;
  let alice: { uid: number; gid: number };
  const clients: TestClient[] = [];
  before(async () => {
    g = await startSmbGateway({ protocols: ['smb', 'nfs', 's3'] });
    alice = await g.user('alice', 'Wonder-land1');
    s3 = await s3ClientOf(g, 'alice');
    await s3.send(new CreateBucketCommand({ Bucket: 'shared' }));
    if (!requireLibnfsDev().skip) harness = await compileHarness();
  });
  after(async () => {
    for (const c of clients) c.close();
    await g?.stop();
  });
  async function session(): Promise<TestClient> {
    const c = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: SMB3 });
    clients.push(c);
    return c;
  }
  const nfsExport = () =>
    `nfs://127.0.0.1/export?nfsport=${g.nfsPort}&mountport=${g.mountPort}&version=3&uid=${alice.uid}&gid=${alice.gid}`;

  test("1 a lease is granted as asked; another client's open breaks it to RH and waits for the acknowledgment; a write through the first breaks the second's to none", async () => {
    const c1 = await session();
    const c2 = await session();
    const k1 = randomBytes(16);
    const k2 = randomBytes(16);
    const first = leaseOf(
      await c1.request({
        command: CMD.CREATE,
        body: createBody('shared\\one.txt', {
          oplock: LEASE,
          contexts: createContexts([leaseV2(k1, R | W | H)]),
        }),
      }),
    );
    deepEqual(first, { state: R | W | H, epoch: 1, key: k1 });
    const fid1 = fileIdOf(c1.repliesFor(c1.nextMessageId - 1n)[0]!);

    const { brk, opened } = await openBehindBreak(
      c2,
      {
        command: CMD.CREATE,
        body: createBody('shared\\one.txt', {
          disposition: 1,
          oplock: LEASE,
          contexts: createContexts([leaseV2(k2, R | W | H)]),
        }),
      },
      c1,
    );
    deepEqual(brk, { epoch: 2, ackRequired: true, key: k1, from: R | W | H, to: R | H });
    const ack = await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k1, R | H) });
    equal(ack.status, 0, `ack: 0x${ack.status.toString(16)}`);
    equal(ack.body.readUInt32LE(24), R | H, 'the acknowledged state is echoed');
    const second = leaseOf(await opened);
    equal(second.state, R | H, 'RH for the second client: two holders, no write caching');
    const fid2 = fileIdOf(await opened);
    // What an operator sees: both opens and the lease each holds (`./cfs smb status`).
    const status = await runCommand(CFS, ['smb', 'status', '--json', '--config', g.configFile], {
      timeoutMs: 60_000,
    });
    equal(status.code, 0, status.output);
    const rows = (JSON.parse(status.stdout) as SmbStatus).openFiles.filter(
      (o) => o.path === 'export\\shared\\one.txt',
    );
    deepEqual(
      rows.map((o) => o.caching),
      ['lease RH', 'lease RH'],
    );

    const wrote = await c1.request({ command: CMD.WRITE, body: writeBody(fid1, 0n, Buffer.from('from c1')) });
    equal(wrote.status, 0);
    const toNone = await nthBreak(c2, 0);
    deepEqual(toNone, { epoch: 2, ackRequired: true, key: k2, from: R | H, to: 0 });
    equal((await c2.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k2, 0) })).status, 0);
    equal(c1.repliesFor(BREAK_MID).length, 1, "the writer's own lease is not broken by its write");

    const again = await c2.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k2, 0) });
    equal(again.status, 0xc0000001, 'an acknowledgment with no break in progress: STATUS_UNSUCCESSFUL');
    await c1.request({ command: CMD.CLOSE, body: closeBody(fid1) });
    await c2.request({ command: CMD.CLOSE, body: closeBody(fid2) });
  });

  test(
    '2 an NFS write to a file an SMB client caches with RWH waits until the client acknowledges the break; the bytes it wrote over SMB are there first',
    requireLibnfsDev(),
    async () => {
      const c1 = await session();
      const k1 = randomBytes(16);
      const { fid, lease } = await openLeased(c1, 'shared\\nfs.txt', k1, R | W | H);
      equal(lease.state, R | W | H);
      equal(
        (await c1.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('smb bytes')) })).status,
        0,
      );

      // libnfs opens the existing file and writes its start (stable), as an NFS application would.
      let written = false;
      const nfsWrite = runCommand(
        harness!,
        [nfsExport(), 'overwrite', '/shared/nfs.txt', 'nfs bytes, longer'],
        {
          timeoutMs: 60_000,
        },
      ).finally(() => {
        written = true;
      });
      const brk = await Promise.race([
        nthBreak(c1, 0),
        nfsWrite.then((d) => {
          throw new Error(`the NFS write ended before any break: ${d.code} ${d.output}`);
        }),
      ]);
      deepEqual(
        { ackRequired: brk.ackRequired, from: brk.from, to: brk.to },
        { ackRequired: true, from: R | W | H, to: 0 },
        'the lease is recalled to none',
      );
      const before = await c1.request({ command: CMD.READ, body: readBody(fid, 0n, 64) });
      equal(payload(before), 'smb bytes', 'nothing of the NFS write is applied before the acknowledgment');
      equal(written, false, 'the NFS write is still waiting');
      equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k1, 0) })).status, 0);
      const done = await nfsWrite;
      equal(done.code, 0, done.output);
      const after = await c1.request({ command: CMD.READ, body: readBody(fid, 0n, 64) });
      equal(payload(after), 'nfs bytes, longer');
      await c1.request({ command: CMD.CLOSE, body: closeBody(fid) });
    },
  );

  test('3 an S3 PUT over a file leased read-only drops the lease without waiting; an S3 DELETE of one leased RH waits for the acknowledgment, in a versioned bucket too', async () => {
    const c1 = await session();
    const kr = randomBytes(16);
    await s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'read.txt', Body: 'v1' }));
    const r = await c1.request({
      command: CMD.CREATE,
      body: createBody('shared\\read.txt', {
        disposition: 1,
        oplock: LEASE,
        contexts: createContexts([leaseV2(kr, R)]),
      }),
    });
    equal(leaseOf(r).state, R);
    await s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'read.txt', Body: 'v2' }));
    const dropped = await nthBreak(c1, 0);
    deepEqual(
      { ackRequired: dropped.ackRequired, from: dropped.from, to: dropped.to },
      { ackRequired: false, from: R, to: 0 },
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'read.txt' }));
    equal(await got.Body?.transformToString(), 'v2');
    await c1.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(r)) });

    const kh = randomBytes(16);
    await s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'handle.txt', Body: 'kept' }));
    const h = await c1.request({
      command: CMD.CREATE,
      body: createBody('shared\\handle.txt', {
        disposition: 1,
        access: 0x120089,
        oplock: LEASE,
        contexts: createContexts([leaseV2(kh, R | H)]),
      }),
    });
    equal(leaseOf(h).state, R | H);
    let deleted = false;
    const deleting = s3.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'handle.txt' })).then(() => {
      deleted = true;
    });
    const recalled = await nthBreak(c1, 1);
    deepEqual(
      { ackRequired: recalled.ackRequired, key: recalled.key, from: recalled.from, to: recalled.to },
      { ackRequired: true, key: kh, from: R | H, to: 0 },
    );
    equal(deleted, false, 'the DELETE waits for the acknowledgment');
    equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(kh, 0) })).status, 0);
    await deleting;
    await c1.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(h)) });

    // In a versioned bucket the object deleted is kept as a version: it is recalled too, so
    // nothing the client wrote back later lands in the kept version.
    await s3.send(new CreateBucketCommand({ Bucket: 'kept' }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'kept', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'doc.txt', Body: 'v1' }));
    const kv = randomBytes(16);
    const v = await c1.request({
      command: CMD.CREATE,
      body: createBody('kept\\doc.txt', {
        disposition: 1,
        oplock: LEASE,
        contexts: createContexts([leaseV2(kv, R | W | H)]),
      }),
    });
    equal(leaseOf(v).state, R | W | H);
    let versionedGone = false;
    const versionedDelete = s3.send(new DeleteObjectCommand({ Bucket: 'kept', Key: 'doc.txt' })).then(() => {
      versionedGone = true;
    });
    const kept = await nthBreak(c1, 2);
    deepEqual({ key: kept.key, from: kept.from, to: kept.to }, { key: kv, from: R | W | H, to: 0 });
    equal(versionedGone, false, 'the versioned DELETE waits for the acknowledgment');
    equal(
      (await c1.request({ command: CMD.WRITE, body: writeBody(fileIdOf(v), 0n, Buffer.from('v2')) })).status,
      0,
    );
    equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(kv, 0) })).status, 0);
    await versionedDelete;
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'kept', Prefix: 'doc.txt' }));
    const keptVersion = versions.Versions?.[0]?.VersionId;
    const old = await s3.send(
      new GetObjectCommand({ Bucket: 'kept', Key: 'doc.txt', VersionId: keptVersion }),
    );
    equal(await old.Body?.transformToString(), 'v2', 'the kept version holds what the client wrote back');
    await c1.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(v)) });

    // The operator's view: the PUT and the DELETE recalled SMB caching (the NFS write too when
    // libnfs' headers are here), and every break was answered.
    const samples = (await scrape(`http://127.0.0.1:${g.opsPort}`)).samples;
    ok((sampleValue(samples, 'gateway_caching_recalls_total', {}) ?? 0) >= 3, 'recalls counted');
    ok((sampleValue(samples, 'gateway_caching_recall_seconds_total', {}) ?? 0) > 0, 'their wait counted');
    equal(sampleValue(samples, 'gateway_caching_breaks_unanswered_total', {}), 0);
  });

  test(
    '4 an NFS READ, an S3 GET and an S3 copy of a file an SMB client caches writes to wait for it to write them back (its lease broken to RH each time)',
    requireTools('nfs-cat'),
    async () => {
      const c1 = await session();
      const k = randomBytes(16);
      await s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'read-back.txt', Body: 'before' }));
      const openRwh = async (disposition: number) => {
        const { fid, lease } = await openLeased(c1, 'shared\\read-back.txt', k, R | W | H, disposition);
        equal(lease.state, R | W | H, 'RWH (an upgrade of the same key the second time)');
        return fid;
      };
      const fid = await openRwh(1);
      const url = `nfs://127.0.0.1/export/shared/read-back.txt?nfsport=${g.nfsPort}&mountport=${g.mountPort}&version=3&uid=${alice.uid}&gid=${alice.gid}`;

      const reads: Array<{ name: string; start: () => Promise<string>; cached: string }> = [
        {
          name: 'the NFS READ',
          start: async () => {
            const cat = await runCommand(toolPath('nfs-cat')!, [url], { timeoutMs: 60_000 });
            equal(cat.code, 0, cat.output);
            return cat.stdout;
          },
          cached: 'cached',
        },
        {
          name: 'the S3 GET',
          start: async () => {
            const o = await s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'read-back.txt' }));
            return (await o.Body?.transformToString()) ?? '';
          },
          cached: 'CACHED',
        },
        {
          name: 'the S3 CopyObject',
          start: async () => {
            await s3.send(
              new CopyObjectCommand({
                Bucket: 'shared',
                Key: 'copied.txt',
                CopySource: 'shared/read-back.txt',
              }),
            );
            const o = await s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'copied.txt' }));
            return (await o.Body?.transformToString()) ?? '';
          },
          cached: 'COPIED',
        },
      ];
      for (const [i, read] of reads.entries()) {
        const held = i === 0 ? fid : await openRwh(1);
        let got: string | undefined;
        const reading = read.start().then((text) => {
          got = text;
        });
        const brk = await nthBreak(c1, i);
        deepEqual(
          { ackRequired: brk.ackRequired, from: brk.from, to: brk.to },
          { ackRequired: true, from: R | W | H, to: R | H },
          `${read.name}: only write caching is recalled`,
        );
        equal(got, undefined, `${read.name} waits for the client`);
        // What the client had cached is written now, before it acknowledges (as Windows does).
        const w = await c1.request({
          command: CMD.WRITE,
          body: writeBody(held, 0n, Buffer.from(read.cached)),
        });
        equal(w.status, 0);
        equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k, R | H) })).status, 0);
        await reading;
        equal(got, read.cached, `${read.name} returns what the SMB client wrote back`);
        if (held !== fid) await c1.request({ command: CMD.CLOSE, body: closeBody(held) });
      }
      equal(c1.repliesFor(BREAK_MID).length, 3, 'one break per read');
      await c1.request({ command: CMD.CLOSE, body: closeBody(fid) });
    },
  );

  test('5 an NLM lock on a file an SMB client caches waits until the client has written back and dropped its caching; while it is held, no read caching and SMB reads meet it', async () => {
    const c1 = await session();
    const k = randomBytes(16);
    const { fid, lease } = await openLeased(c1, 'shared\\locked.txt', k, R | W | H);
    equal(lease.state, R | W | H);
    const file = await g.gw.ns.resolvePath(ROOT, '/export/shared/locked.txt');
    const handles = new NfsHandles(g.gw.control.secrets.nfsHandleKey, g.gw.ns, g.gw.config.nfs.exports);
    const held: Nlm4Lock = {
      callerName: 'nfs-client',
      fh: handles.encodeHandle(0, file),
      oh: Buffer.from('editor'),
      svid: 42,
      offset: 0n,
      length: 0n,
    };
    const nlm = await NlmTestClient.connect(g.nfsPort);
    try {
      let answered: number | undefined;
      const locking = nlm.lock(held).then((res) => {
        answered = res.stat;
      });
      const brk = await nthBreak(c1, 0);
      deepEqual(
        { ackRequired: brk.ackRequired, from: brk.from, to: brk.to },
        { ackRequired: true, from: R | W | H, to: 0 },
        'the lease is recalled to none',
      );
      equal(answered, undefined, 'the lock waits for the client');
      // What the client cached is written now, before it acknowledges (as Windows does).
      const w = await c1.request({
        command: CMD.WRITE,
        body: writeBody(fid, 0n, Buffer.from('written back')),
      });
      equal(w.status, 0);
      equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k, 0) })).status, 0);
      await locking;
      equal(answered, Nlm4Stat.GRANTED);

      const blocked = await c1.request({ command: CMD.READ, body: readBody(fid, 0n, 64) });
      equal(
        blocked.status,
        NT_STATUS.STATUS_FILE_LOCK_CONFLICT,
        'an SMB read of the locked range meets the lock',
      );
      const c2 = await session();
      const second = await openLeased(c2, 'shared\\locked.txt', randomBytes(16), R | H, 1);
      equal(second.lease.state & R, 0, 'no read caching while the lock is held');
      await c2.request({ command: CMD.CLOSE, body: closeBody(second.fid) });

      equal((await nlm.unlock(held)).stat, Nlm4Stat.GRANTED);
      equal(payload(await c1.request({ command: CMD.READ, body: readBody(fid, 0n, 64) })), 'written back');
    } finally {
      nlm.close();
    }
    await c1.request({ command: CMD.CLOSE, body: closeBody(fid) });
  });
});

function payload(r: Reply): string {
  equal(r.status, 0, `READ: 0x${r.status.toString(16)}`);
  return r.body.subarray(r.body[2]! - 64, r.body[2]! - 64 + r.body.readUInt32LE(4)).toString();
}
