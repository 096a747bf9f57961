/**
 * Scale-out: three gateway nodes on one PostgreSQL (metadata + control plane) and one
 * S3-compatible object store (file data) serve one namespace over S3, NFS and SMB. Real clients (the AWS SDK, libnfs's
 * nfs-cat, smbclient) on different nodes see each other's writes; caches stay coherent;
 * handles, multipart uploads and quotas work across nodes; a PostgreSQL outage opens the
 * metadata circuit on every node and heals by itself with nothing acknowledged lost.
 */
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { LocksReport, SmbOpenFilesReport } from '@claudefs/api';
import pgDriver from 'pg';
import { pgConnectionString } from '../../src/config/control-url.ts';
import {
  decodeRes,
  encodeLockArgs,
  encodeUnlockArgs,
  Nlm4Stat,
  NlmProc,
} from '../../src/protocols/nlm/codec.ts';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import type { RpcCred } from '../../src/protocols/rpc/program.ts';
import { ACCESS, CMD, DISPOSITION, OPTION } from '../../src/protocols/smb/constants.ts';
import { NT_STATUS } from '../../src/protocols/smb/deps.ts';
import type { SmbStatus } from '../../src/protocols/smb/status-report.ts';
import { SmbSession, StableHow } from '../crash/clients.ts';
import { type StoreServer, startStoreServer } from '../data-s3/store-server.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import {
  type CreateOptions,
  closeBody,
  connectedClient,
  createBody,
  createContexts,
  fileIdOf,
  readBody,
  setInfoBody,
  type TestClient,
  writeBody,
} from '../smb/client.ts';
import {
  BREAK_MID,
  H,
  LEASE,
  leaseAck,
  leaseOf,
  leaseV2,
  nthBreak,
  openBehindBreak,
  parseBreak,
  R,
  SMB3,
  W,
} from '../smb/lease-wire.ts';
import { type PostgresServer, requirePostgres, startPostgres } from '../support/postgres.ts';
import { requireTools } from '../support/tools.ts';
import { waitFor } from '../support/wait.ts';
import { signIn, trpc } from '../trpc/fixture.ts';
import { ADMIN_PASSWORD, Cluster, type ClusterNode } from './cluster.ts';

const MiB = 1024 * 1024;
const BUCKET = 'shared';

async function getBytes(c: Cluster, n: ClusterNode, key: string): Promise<Buffer> {
  const s3 = c.s3(n);
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(
      await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
  } finally {
    s3.destroy();
  }
}

/**
 * Sets `smb.break_timeout` in each node's file (undefined: the default again) and reloads it as
 * SIGHUP does; resolves once each node has logged the reload.
 */
async function setBreakTimeout(nodes: ClusterNode[], value: string | undefined): Promise<void> {
  for (const n of nodes) {
    const text = readFileSync(n.configFile, 'utf8').replace(/, break_timeout: [^ ,}]+/, '');
    writeFileSync(
      n.configFile,
      value === undefined ? text : text.replace(/^(smb: \{.*) \}$/m, `$1, break_timeout: ${value} }`),
    );
    const reloads = () => n.process!.output().split('configuration reloaded').length;
    const before = reloads();
    process.kill(n.process!.pid, 'SIGHUP');
    await until(`${n.name} reloads its file`, 15_000, async () => reloads() > before);
  }
}

async function put(c: Cluster, n: ClusterNode, key: string, body: Buffer): Promise<void> {
  const s3 = c.s3(n);
  try {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  } finally {
    s3.destroy();
  }
}

/** Polls `check` until it returns true; resolves with the ms it took, or throws after `limitMs`. */
async function until(what: string, limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return Math.round(performance.now() - t0);
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a three-node cluster on PostgreSQL and an object store', {
  ...requirePostgres(),
  ...requireTools('nfs-cat', 'smbclient'),
}, () => {
  let pg: PostgresServer;
  let store: StoreServer;
  let c: Cluster;
  let a: ClusterNode;
  let b: ClusterNode;
  let gc: ClusterNode;
  /** `f` with an S3 client of node `n`, closed after. */
  const on = async <T>(n: ClusterNode, f: (s3: ReturnType<Cluster['s3']>) => Promise<T>): Promise<T> => {
    const s3 = c.s3(n);
    try {
      return await f(s3);
    } finally {
      s3.destroy();
    }
  };
  /** What every test acknowledged: key → bytes, read back after the outage. */
  const acknowledged = new Map<string, Buffer>();

  before(async () => {
    pg = await startPostgres();
    store = await startStoreServer();
    c = await Cluster.start(pg, 3, store);
    [a, b, gc] = c.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const s3 = c.s3(a);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    s3.destroy();
  });
  after(async () => {
    await c?.stop();
    await store?.stop();
    await pg?.destroy();
  });

  /** Node b's SMB client, node a's NFS client and a PostgreSQL session for `use`, closed after. */
  const smbOnBNfsOnA = async (
    use: (t: {
      smb: Awaited<ReturnType<typeof connectedClient>>;
      nfsA: Awaited<ReturnType<Cluster['nfs']>>;
      db: pgDriver.Client;
      sql: (text: string, ...args: unknown[]) => Promise<pgDriver.QueryResult['rows']>;
    }) => Promise<void>,
  ): Promise<void> => {
    const { user, password } = b.access;
    const smb = await connectedClient(b.access.smbPort, user, password, { dialects: SMB3 });
    const nfsA = await c.nfs(a);
    const db = new pgDriver.Client({ connectionString: pgConnectionString(c.metadataUrl) });
    await db.connect();
    try {
      await use({ smb, nfsA, db, sql: async (text, ...args) => (await db.query(text, args)).rows });
    } finally {
      smb.close();
      nfsA.close();
      await db.end();
    }
  };
  /** Waits for a file to be gone for good: its inode and its detached record. */
  const goneForGood = (
    sql: (text: string, ...args: unknown[]) => Promise<unknown[]>,
    ino: string,
    what: string,
  ) =>
    until(what, 10_000, async () => {
      const left = await sql('SELECT 1 FROM claudefs.inodes WHERE ino = $1', ino);
      const detached = await sql('SELECT 1 FROM claudefs.detached WHERE ino = $1', ino);
      return left.length === 0 && detached.length === 0;
    });

  test('1 every node registers in the shared control plane: `./cfs gateway nodes` lists all three healthy', async () => {
    await until('three healthy nodes', 30_000, async () => {
      const r = await c.cfs(b, ['gateway', 'nodes', '--json']);
      const nodes = JSON.parse(r.stdout) as Array<{ name: string; health: string }>;
      return ['gw-a', 'gw-b', 'gw-c'].every((n) => nodes.find((x) => x.name === n)?.health === 'healthy');
    });
  });

  test('2 an S3 PUT on node a reads back byte-identical over NFS on node b and SMB on node c', async () => {
    const data = randomBytes(3 * MiB + 17);
    await put(c, a, 'dir/x.bin', data);
    acknowledged.set('dir/x.bin', data);
    const nfs = await c.nfsCat(b, `${BUCKET}/dir/x.bin`);
    equal(nfs.code, 0, nfs.output);
    ok(nfs.data.equals(data), 'nfs-cat on node b returns the bytes PUT on node a');
    const r = await c.smbclient(gc, `get ${BUCKET}\\dir\\x.bin x-smb.bin`, c.dir);
    equal(r.code, 0, r.output);
    ok(readFileSync(join(c.dir, 'x-smb.bin')).equals(data), 'smbclient get on node c returns the same bytes');
  });

  test('3 caches stay coherent: a node with the old file cached sees an overwrite and a rename made elsewhere', async () => {
    const v1 = Buffer.from('version one');
    await put(c, a, 'coherent.txt', v1);
    // Node b caches the entry and the attributes.
    const nfsB = await c.nfs(b);
    try {
      const bucket = await nfsB.mustLookup(nfsB.root, BUCKET);
      const fh = await nfsB.mustLookup(bucket, 'coherent.txt');
      deepEqual(await nfsB.readAll(fh), v1);
      const v2 = Buffer.from('version two, longer than one');
      await put(c, gc, 'coherent.txt', v2);
      acknowledged.set('coherent.txt', v2);
      const ms = await until('overwrite seen on node b', 5_000, async () => {
        const now = await nfsB.mustLookup(bucket, 'coherent.txt');
        return (await nfsB.readAll(now)).equals(v2);
      });
      console.log(`overwrite on node c seen by node b after ${ms} ms`);
      writeFileSync(join(c.dir, 'renamed-src'), 'x');
      const mv = await c.smbclient(gc, `rename ${BUCKET}\\coherent.txt ${BUCKET}\\renamed.txt`, c.dir);
      equal(mv.code, 0, mv.output);
      acknowledged.delete('coherent.txt');
      acknowledged.set('renamed.txt', v2);
      await until('rename seen on node b', 5_000, async () => {
        return (
          (await nfsB.lookup(bucket, 'coherent.txt')) === undefined &&
          !!(await nfsB.lookup(bucket, 'renamed.txt'))
        );
      });
    } finally {
      nfsB.close();
    }
  });

  test('4 an NFS file handle from one node is valid on every other node', async () => {
    const nfsA = await c.nfs(a);
    const nfsC = await c.nfs(gc);
    try {
      const bucket = await nfsA.mustLookup(nfsA.root, BUCKET);
      const fh = await nfsA.create(bucket, 'handle.bin');
      const data = randomBytes(100_000);
      await nfsA.write(fh, 0, data, StableHow.FILE_SYNC);
      acknowledged.set('handle.bin', data);
      // The handle minted by node a, presented to node c without any LOOKUP there.
      ok((await nfsC.readAll(fh)).equals(data));
    } finally {
      nfsA.close();
      nfsC.close();
    }
  });

  test('4b two nodes writing apart in one chunk of the object store at once: every acknowledged write is there', async () => {
    const nfsA = await c.nfs(a);
    const nfsB = await c.nfs(b);
    try {
      const bucket = await nfsA.mustLookup(nfsA.root, BUCKET);
      const fh = await nfsA.create(bucket, 'shared-chunk.bin');
      // 1 MiB chunks: node a writes the first 4 KiB of each 8 KiB, node b the second, all in
      // chunk 0, each round's two COMMITs at once.
      const expected = Buffer.alloc(20 * 8192);
      for (let round = 0; round < 20; round++) {
        const mine = Buffer.alloc(4096, 0x41 + (round % 26));
        const theirs = Buffer.alloc(4096, 0x61 + (round % 26));
        const at = round * 8192;
        await Promise.all([
          nfsA.write(fh, at, mine, StableHow.UNSTABLE).then(() => nfsA.commit(fh)),
          nfsB.write(fh, at + 4096, theirs, StableHow.UNSTABLE).then(() => nfsB.commit(fh)),
        ]);
        mine.copy(expected, at);
        theirs.copy(expected, at + 4096);
      }
      acknowledged.set('shared-chunk.bin', expected);
      const nfsC = await c.nfs(gc);
      try {
        const seen = await nfsC.readAll(fh);
        equal(seen.length, expected.length);
        for (let i = 0; i < expected.length; i += 4096) {
          equal(
            seen[i],
            expected[i],
            `bytes at ${i} (written by node ${(i / 4096) % 2 === 0 ? 'a' : 'b'}) lost`,
          );
        }
      } finally {
        nfsC.close();
      }
    } finally {
      nfsA.close();
      nfsB.close();
    }
  });

  test('5 a multipart upload created on node a, with parts through a and b, completes on node c', async () => {
    const [s3a, s3b, s3c] = [c.s3(a), c.s3(b), c.s3(gc)];
    try {
      const part1 = randomBytes(5 * MiB);
      const part2 = randomBytes(1 * MiB + 3);
      const { UploadId } = await s3a.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp.bin' }),
      );
      const p1 = await s3a.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: 'mp.bin', UploadId, PartNumber: 1, Body: part1 }),
      );
      const p2 = await s3b.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: 'mp.bin', UploadId, PartNumber: 2, Body: part2 }),
      );
      await s3c.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'mp.bin',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: p1.ETag },
              { PartNumber: 2, ETag: p2.ETag },
            ],
          },
        }),
      );
      const whole = Buffer.concat([part1, part2]);
      acknowledged.set('mp.bin', whole);
      ok((await getBytes(c, b, 'mp.bin')).equals(whole));
    } finally {
      for (const s of [s3a, s3b, s3c]) s.destroy();
    }
  });

  test('5b a versioned bucket across nodes: versions written on two nodes, read, deleted and restored on others', async () => {
    await on(a, async (s3) => {
      await s3.send(new CreateBucketCommand({ Bucket: 'kept' }));
      await s3.send(
        new PutBucketVersioningCommand({ Bucket: 'kept', VersioningConfiguration: { Status: 'Enabled' } }),
      );
    });
    const v1 = randomBytes(2 * MiB);
    const v2 = randomBytes(1000);
    const id1 = await on(
      a,
      async (s3) => (await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'f', Body: v1 }))).VersionId!,
    );
    const id2 = await on(
      b,
      async (s3) => (await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'f', Body: v2 }))).VersionId!,
    );
    const read = (n: ClusterNode, VersionId?: string) =>
      on(n, async (s3) => {
        const r = await s3.send(new GetObjectCommand({ Bucket: 'kept', Key: 'f', VersionId }));
        return Buffer.from(
          await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        );
      });
    ok((await read(gc, id1)).equals(v1), 'node c reads the version node a wrote and node b replaced');
    ok((await read(gc)).equals(v2));
    const listed = await on(
      b,
      async (s3) => (await s3.send(new ListObjectVersionsCommand({ Bucket: 'kept' }))).Versions,
    );
    deepEqual(
      listed?.map((v) => [v.VersionId, v.IsLatest]),
      [
        [id2, true],
        [id1, false],
      ],
    );
    const marker = await on(
      gc,
      async (s3) => (await s3.send(new DeleteObjectCommand({ Bucket: 'kept', Key: 'f' }))).VersionId!,
    );
    await until(
      'node a sees the delete',
      10_000,
      async () =>
        await read(a).then(
          () => false,
          () => true,
        ),
    );
    await on(b, (s3) => s3.send(new DeleteObjectCommand({ Bucket: 'kept', Key: 'f', VersionId: marker })));
    await until('node a sees the object back', 10_000, async () => (await read(a)).equals(v2));
  });

  test('5c Object Lock across nodes: a legal hold set on one node refuses the delete on another until lifted on a third', async () => {
    await on(a, (s3) =>
      s3.send(new CreateBucketCommand({ Bucket: 'held', ObjectLockEnabledForBucket: true })),
    );
    const id = await on(
      a,
      async (s3) =>
        (
          await s3.send(
            new PutObjectCommand({
              Bucket: 'held',
              Key: 'e',
              Body: 'exhibit',
              ObjectLockLegalHoldStatus: 'ON',
            }),
          )
        ).VersionId!,
    );
    const del = () =>
      on(b, (s3) => s3.send(new DeleteObjectCommand({ Bucket: 'held', Key: 'e', VersionId: id })));
    await del().then(
      () => {
        throw new Error('the held version was deleted');
      },
      (e: { name?: string }) => equal(e.name, 'AccessDenied'),
    );
    await on(gc, (s3) =>
      s3.send(
        new PutObjectLegalHoldCommand({
          Bucket: 'held',
          Key: 'e',
          VersionId: id,
          LegalHold: { Status: 'OFF' },
        }),
      ),
    );
    await until('node b may delete it', 10_000, async () =>
      del().then(
        () => true,
        () => false,
      ),
    );
  });

  test('6 a hard inode quota is exact across nodes: concurrent PUTs on two nodes create exactly the room left', async () => {
    const uid = String(a.access.uid);
    const big = await c.cfs(a, ['quota', 'set-user', '--uid', uid, '--hard-inodes', '1000000']);
    equal(big.code, 0, big.output);
    const r = await c.cfs(a, ['quota', 'get', '--uid', uid, '--json']);
    equal(r.code, 0, r.output);
    const used = Number((JSON.parse(r.stdout) as { inodes: { used: string } }).inodes.used);
    const room = 10;
    const set = await c.cfs(a, [
      'quota',
      'set-user',
      '--uid',
      String(a.access.uid),
      '--hard-inodes',
      String(used + room),
    ]);
    equal(set.code, 0, set.output);
    // Every node re-reads the quota table within QUOTA_POLL_MS (250 ms).
    await new Promise((res) => setTimeout(res, 1500));
    const attempts = [a, b].flatMap((n) =>
      Array.from({ length: 15 }, (_, i) =>
        put(c, n, `quota-${n.name}-${i}`, Buffer.from('q')).then(
          () => 'ok',
          (e: { name?: string }) => e.name ?? 'error',
        ),
      ),
    );
    const outcomes = await Promise.all(attempts);
    equal(outcomes.filter((o) => o === 'ok').length, room, outcomes.join(' '));
    ok(
      outcomes.every((o) => o === 'ok' || o === 'QuotaExceeded'),
      outcomes.join(' '),
    );
    const unset = await c.cfs(a, ['quota', 'set-user', '--uid', String(a.access.uid), '--hard-inodes', '0']);
    equal(unset.code, 0, unset.output);
    // The tests after this one create files as this user: each node lifts the quota at its next
    // read of the table (QUOTA_POLL_MS), shown by a PUT it accepts again.
    for (const n of c.nodes)
      await waitFor(
        () =>
          put(c, n, `quota-lifted-${n.name}`, Buffer.from('q')).then(
            () => true,
            () => false,
          ),
        `the quota lifted on ${n.name}`,
        15_000,
      );
  });

  test('7 byte-range locks are one table across nodes: an NLM lock on node a refuses SMB locks and writes on node b until released; `./cfs locks` on b lists it through node a', async () => {
    const nfsA = await c.nfs(a);
    const nlm = await RpcClient.connect('127.0.0.1', a.access.nfsPort, { timeoutMs: 60_000 });
    const smbB = await SmbSession.open(b.access, 'export');
    try {
      const bucket = await nfsA.mustLookup(nfsA.root, BUCKET);
      const fh = await nfsA.create(bucket, 'locked.bin');
      await nfsA.write(fh, 0, Buffer.alloc(100, 1), StableHow.FILE_SYNC);
      acknowledged.set('locked.bin', Buffer.alloc(100, 1));
      const cred: RpcCred = {
        flavor: 'sys',
        stamp: 0,
        machine: 'nlm-client',
        uid: a.access.uid,
        gid: a.access.gid,
        gids: [],
      };
      const lock = {
        callerName: 'nlm-client',
        fh,
        oh: Buffer.from('owner-1'),
        svid: 7,
        offset: 0n,
        length: 50n,
      };
      const nlmCall = async (proc: number, args: Buffer) => {
        const r = await nlm.call({ prog: 100021, vers: 4, proc, cred, args });
        if (r.status !== 'accepted' || r.stat !== AcceptStat.SUCCESS) throw new Error(JSON.stringify(r));
        return decodeRes(r.results).stat;
      };
      const lockArgs = encodeLockArgs({
        cookie: Buffer.from('c'),
        block: false,
        exclusive: true,
        lock,
        reclaim: false,
        state: 1,
      });
      equal(await nlmCall(NlmProc.LOCK, lockArgs), Nlm4Stat.GRANTED, 'NLM lock on node a');
      const fid = await smbB.create(`${BUCKET}\\locked.bin`, {
        access: ACCESS.FILE_READ_DATA | ACCESS.FILE_WRITE_DATA | ACCESS.FILE_READ_ATTRIBUTES,
        disposition: DISPOSITION.OPEN,
      });
      ok(fid);
      const conflicted = NT_STATUS.STATUS_LOCK_NOT_GRANTED;
      await until(
        'node b sees the lock of node a',
        5_000,
        async () => (await smbB.lockStatus(fid, 10n, 5n, 0x2 | 0x10)) === conflicted,
      );
      equal(
        await smbB.writeStatus(fid, 20, Buffer.from('x')),
        NT_STATUS.STATUS_FILE_LOCK_CONFLICT,
        'a write into the NLM-locked range',
      );
      equal(await smbB.lockStatus(fid, 60n, 5n, 0x2 | 0x10), 0, 'outside the range: granted');
      // The SMB lock on node b now refuses an NLM lock of its range on node a.
      const other = encodeLockArgs({
        cookie: Buffer.from('d'),
        block: false,
        exclusive: true,
        lock: { ...lock, oh: Buffer.from('owner-2'), svid: 8, offset: 60n, length: 1n },
        reclaim: false,
        state: 1,
      });
      equal(await nlmCall(NlmProc.LOCK, other), Nlm4Stat.DENIED, 'node a sees the SMB lock of node b');
      // What an operator on node b sees: its own client's lock, and node a's NFS client's.
      await until('node b lists both locks', 5_000, async () => {
        const r = await c.cfs(b, ['locks', '--json']);
        const { locks } = JSON.parse(r.stdout) as LocksReport;
        return (
          JSON.stringify(locks.map((l) => [l.protocol, l.node ?? 'here', l.offset, l.length])) ===
            JSON.stringify([
              ['smb', 'here', '60', '5'],
              ['nfs', 'gw-a', '0', '50'],
            ]) && locks[1]?.holder === 'nlm-client'
        );
      });
      const elsewhere = await c.cfs(b, ['locks', 'release', 'nlm-client']);
      equal(elsewhere.code, 1, elsewhere.output);
      match(elsewhere.stderr, /nlm-client holds no lock here .*through gw-a: release them there/);
      // An SMB zero-length lock is a position, on every node: node a's NLM lock of [78, 82)
      // holds bytes on both sides of it and is refused; [80, 82) starts there and is granted.
      equal(await smbB.lockStatus(fid, 80n, 0n, 0x2 | 0x10), 0, 'a zero-length lock at 80');
      const nlmAt = (offset: bigint, length: bigint, svid: number) =>
        encodeLockArgs({
          cookie: Buffer.from('z'),
          block: false,
          exclusive: true,
          lock: { ...lock, oh: Buffer.from(`owner-${svid}`), svid, offset, length },
          reclaim: false,
          state: 1,
        });
      equal(await nlmCall(NlmProc.LOCK, nlmAt(78n, 4n, 9)), Nlm4Stat.DENIED, 'across the point');
      equal(await nlmCall(NlmProc.LOCK, nlmAt(80n, 2n, 10)), Nlm4Stat.GRANTED, 'from the point on');
      equal(
        await nlmCall(NlmProc.UNLOCK, encodeUnlockArgs({ cookie: Buffer.from('u'), lock })),
        Nlm4Stat.GRANTED,
      );
      await until(
        'the release reaches node b',
        5_000,
        async () => (await smbB.lockStatus(fid, 10n, 5n, 0x2 | 0x10)) === 0,
      );
      await smbB.close(fid);
    } finally {
      nlm.close();
      nfsA.close();
      smbB.end();
    }
  });

  test("7b SMB caching is one view across nodes: a lease on node a is broken by an open on node b, recalled by node b's NFS write, and free again once closed", async () => {
    const { user, password } = a.access;
    const c1 = await connectedClient(a.access.smbPort, user, password, { dialects: SMB3 });
    const c2 = await connectedClient(b.access.smbPort, user, password, { dialects: SMB3 });
    const nfsB = await c.nfs(b);
    const name = `${BUCKET}\\cached.txt`;
    /** A CREATE asking for read, write and handle caching under `key`. */
    const withLease = (key: Buffer, disposition: number = DISPOSITION.OPEN) => ({
      command: CMD.CREATE,
      body: createBody(name, {
        disposition,
        oplock: LEASE,
        contexts: createContexts([leaseV2(key, R | W | H)]),
      }),
    });
    try {
      const k1 = randomBytes(16);
      const r1 = await c1.request(withLease(k1, DISPOSITION.OPEN_IF));
      equal(leaseOf(r1).state, R | W | H, 'alone in the cluster: read, write and handle caching on node a');
      const fid1 = fileIdOf(r1);
      equal(
        (await c1.request({ command: CMD.WRITE, body: writeBody(fid1, 0n, Buffer.from('cached on a')) }))
          .status,
        0,
      );

      // An open of the file on node b: node a's client gives up write caching first.
      const k2 = randomBytes(16);
      const { brk, opened } = await openBehindBreak(c2, withLease(k2), c1);
      deepEqual(brk, { epoch: 2, ackRequired: true, key: k1, from: R | W | H, to: R | H });
      equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k1, R | H) })).status, 0);
      const r2 = await opened;
      equal(leaseOf(r2).state, R | H, "read and handle caching beside node a's client: no write caching");
      const fid2 = fileIdOf(r2);

      // An NFS write on node b recalls both clients' caching and waits for their answers.
      const bucket = await nfsB.mustLookup(nfsB.root, BUCKET);
      const fh = await nfsB.mustLookup(bucket, 'cached.txt');
      let wrote = false;
      const write = nfsB.write(fh, 0, Buffer.from('NFS on b'), StableHow.FILE_SYNC).then(() => {
        wrote = true;
      });
      deepEqual(await nthBreak(c1, 1), { epoch: 3, ackRequired: true, key: k1, from: R | H, to: 0 });
      deepEqual(await nthBreak(c2, 0), { epoch: 2, ackRequired: true, key: k2, from: R | H, to: 0 });
      await new Promise((r) => setTimeout(r, 300));
      equal(wrote, false, 'the NFS write waits until both clients have answered');
      equal((await c2.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k2, 0) })).status, 0);
      equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k1, 0) })).status, 0);
      await write;
      await until("node a's client reads node b's write", 5_000, async () => {
        const r = await c1.request({ command: CMD.READ, body: readBody(fid1, 0n, 64) });
        return (
          r.status === 0 &&
          r.body.subarray(r.body[2]! - 64, r.body[2]! - 64 + r.body.readUInt32LE(4)).toString() ===
            'NFS on bn a'
        );
      });
      const samples = (await scrape(`http://127.0.0.1:${b.opsPort}`)).samples;
      ok(
        (sampleValue(samples, 'gateway_caching_remote_recalls_total', { outcome: 'answered' }) ?? 0) >= 2,
        'node b counts the recalls node a answered',
      );

      // Both closed: once node a has recorded it, node b's clients may cache everything again.
      equal((await c1.request({ command: CMD.CLOSE, body: closeBody(fid1) })).status, 0);
      equal((await c2.request({ command: CMD.CLOSE, body: closeBody(fid2) })).status, 0);
      await until('node b grants write caching again', 10_000, async () => {
        const r = await c2.request(withLease(randomBytes(16)));
        await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(r)) });
        return leaseOf(r).state === (R | W | H);
      });
    } finally {
      c1.close();
      c2.close();
      nfsB.close();
    }
  });

  test('7c share modes are one table across nodes: an open denying others refuses them on node b until closed on node a', async () => {
    const { user, password } = a.access;
    const c1 = await connectedClient(a.access.smbPort, user, password, { dialects: SMB3 });
    const c2 = await connectedClient(b.access.smbPort, user, password, { dialects: SMB3 });
    const name = `${BUCKET}\\report.docx`;
    const readWrite = ACCESS.FILE_READ_DATA | ACCESS.FILE_WRITE_DATA | ACCESS.FILE_READ_ATTRIBUTES;
    const open = (client: TestClient, o: CreateOptions) =>
      client.request({ command: CMD.CREATE, body: createBody(name, o) });
    try {
      // Word's way: read and write, sharing reading only.
      const r1 = await open(c1, { access: readWrite, share: 0x1, disposition: DISPOSITION.OPEN_IF });
      equal(r1.status, 0);
      const fid1 = fileIdOf(r1);
      equal(
        (await open(c2, { access: readWrite, share: 0x7 })).status,
        NT_STATUS.STATUS_SHARING_VIOLATION,
        'a second editor on node b is refused',
      );
      // Where the operator of node b sees why: `./cfs smb status` lists what node a holds.
      await until("node b's smb status shows node a's open", 10_000, async () => {
        const r = await c.cfs(b, ['smb', 'status', '--json']);
        const held = (JSON.parse(r.stdout) as SmbStatus).elsewhere.filter((e) => e.node === a.name);
        return held.some((e) => e.readers === 1 && e.writers === 1 && e.denies === 'WRITE,DELETE');
      });
      const text = await c.cfs(b, ['smb', 'status']);
      ok(
        /Held through other nodes/.test(text.stdout) && /gw-a .* WRITE,DELETE/.test(text.stdout),
        text.stdout,
      );
      // And the console's Connections page of node b (its tRPC query) shows the same.
      const base = `http://127.0.0.1:${b.opsPort}`;
      const files = await trpc<SmbOpenFilesReport>(base, 'query', 'connections.smbOpenFiles', undefined, {
        cookie: await signIn(base, 'admin', ADMIN_PASSWORD),
      });
      equal(files.status, 200, files.error?.message);
      ok(
        files.data.elsewhere.some((e) => e.node === a.name && e.writers === 1 && e.denies === 'WRITE,DELETE'),
        JSON.stringify(files.data.elsewhere),
      );
      equal(
        (await open(c2, { access: readWrite, share: 0x7, disposition: DISPOSITION.OVERWRITE_IF })).status,
        NT_STATUS.STATUS_SHARING_VIOLATION,
        'and so is an overwrite, before it truncates anything',
      );
      const reader = await open(c2, { access: ACCESS.FILE_READ_DATA, share: 0x7 });
      equal(reader.status, 0, 'a reader sharing writes is let in');
      equal((await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(reader)) })).status, 0);
      const stat = await open(c2, { access: ACCESS.FILE_READ_ATTRIBUTES, share: 0 });
      equal(stat.status, 0, 'an attributes-only open is not a data open');
      equal((await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(stat)) })).status, 0);
      equal((await c1.request({ command: CMD.CLOSE, body: closeBody(fid1) })).status, 0);
      // Opened on node b at once: node a is asked to record the close if it has not yet.
      const after = await open(c2, { access: readWrite, share: 0x1 });
      equal(after.status, 0, 'the editor on node b gets in as soon as node a closed');
      equal((await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(after)) })).status, 0);

      // A handle node a's client keeps only because it caches it is recalled, and the client closes it.
      const k1 = randomBytes(16);
      const cached = await open(c1, {
        access: readWrite,
        share: 0x1,
        oplock: LEASE,
        contexts: createContexts([leaseV2(k1, R | W | H)]),
      });
      equal(leaseOf(cached).state, R | W | H);
      const { brk, opened } = await openBehindBreak(
        c2,
        { command: CMD.CREATE, body: createBody(name, { access: readWrite, share: 0x7 }) },
        c1,
      );
      // Write caching first (node b's open reads), then, the share modes still in the way,
      // handle caching (unless node b saw the lease only when it decided): the client closes
      // the handle it kept only to cache it, as Windows does.
      for (let n = 0, step = brk; ; step = await nthBreak(c1, ++n)) {
        equal(step.ackRequired, true);
        if ((step.to & H) === 0) break;
        equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k1, step.to) })).status, 0);
      }
      equal((await c1.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(cached)) })).status, 0);
      const second = await opened;
      equal(second.status, 0, 'opened once the cached handle is closed');
      equal((await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(second)) })).status, 0);
    } finally {
      c1.close();
      c2.close();
    }
  });

  test("7d a rename on node b waits until node a's client has given up the handle it caches", async () => {
    const { user, password } = a.access;
    const c1 = await connectedClient(a.access.smbPort, user, password, { dialects: SMB3 });
    const c2 = await connectedClient(b.access.smbPort, user, password, { dialects: SMB3 });
    try {
      const k1 = randomBytes(16);
      const cached = await c1.request({
        command: CMD.CREATE,
        body: createBody(`${BUCKET}\\moving.txt`, {
          disposition: DISPOSITION.OPEN_IF,
          oplock: LEASE,
          contexts: createContexts([leaseV2(k1, R | H)]),
        }),
      });
      equal(leaseOf(cached).state, R | H);
      const opened = await c2.request({
        command: CMD.CREATE,
        body: createBody(`${BUCKET}\\moving.txt`, { access: ACCESS.DELETE | ACCESS.FILE_READ_ATTRIBUTES }),
      });
      equal(opened.status, 0);
      const to = Buffer.from(`${BUCKET}\\moved.txt`, 'utf16le');
      const info = Buffer.alloc(20);
      info.writeUInt32LE(to.length, 16);
      const pending = c2.build({
        command: CMD.SET_INFO,
        body: setInfoBody(fileIdOf(opened), 10, Buffer.concat([info, to])),
      });
      const renamed = c2.wait(pending.messageId, false, 60_000);
      c2.sendFrame(pending.msg);
      deepEqual(await nthBreak(c1, 0), { epoch: 2, ackRequired: true, key: k1, from: R | H, to: R });
      equal(
        c2.repliesFor(pending.messageId).filter((r) => r.status !== 0x103).length,
        0,
        'the rename waits for the acknowledgment',
      );
      equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k1, R) })).status, 0);
      equal((await renamed).status, 0, 'renamed once node a answered');
      equal((await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(opened)) })).status, 0);
      equal((await c1.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(cached)) })).status, 0);
    } finally {
      c1.close();
      c2.close();
    }
  });

  test('7e a delete pending on node a refuses opens of the file on node b, stat opens too, until its last open there closes', async () => {
    const { user, password } = a.access;
    const c1 = await connectedClient(a.access.smbPort, user, password, { dialects: SMB3 });
    const c2 = await connectedClient(b.access.smbPort, user, password, { dialects: SMB3 });
    try {
      const name = `${BUCKET}\\doomed.txt`;
      const held = await c1.request({
        command: CMD.CREATE,
        body: createBody(name, {
          access: ACCESS.DELETE | ACCESS.FILE_READ_ATTRIBUTES,
          disposition: DISPOSITION.OPEN_IF,
        }),
      });
      equal(held.status, 0);
      // FileDispositionInformation (class 13): DeletePending = 1.
      const doomed = await c1.request({
        command: CMD.SET_INFO,
        body: setInfoBody(fileIdOf(held), 13, Buffer.from([1])),
      });
      equal(doomed.status, 0);
      const open = (access: number) =>
        c2.request({
          command: CMD.CREATE,
          body: createBody(name, { access, disposition: DISPOSITION.OPEN }),
        });
      equal(
        (await open(ACCESS.FILE_READ_DATA)).status,
        NT_STATUS.STATUS_DELETE_PENDING,
        'a data open on node b, decided right after the SET_INFO was answered',
      );
      await until('node b has heard of it for a stat open too', 5_000, async () => {
        return (await open(ACCESS.FILE_READ_ATTRIBUTES)).status === NT_STATUS.STATUS_DELETE_PENDING;
      });
      equal((await c1.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(held)) })).status, 0);
      await until('the file is gone on node b', 5_000, async () => {
        return (await open(ACCESS.FILE_READ_DATA)).status === NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND;
      });
    } finally {
      c1.close();
      c2.close();
    }
  });

  test("7f a recall node a does not answer (its process stopped) holds node b's change up for smb.break_timeout and 5 s, no more; node b stopped while the answer comes still takes it", async () => {
    const remote = async (n: ClusterNode, outcome: string) =>
      sampleValue(
        (await scrape(`http://127.0.0.1:${n.opsPort}`)).samples,
        'gateway_caching_remote_recalls_total',
        {
          outcome,
        },
      ) ?? 0;
    /** Until node b sees node a's clients cache `files` files with read, write and handle caching. */
    const untilCachedOnA = (files: number, what: string) =>
      until(what, 10_000, async () => {
        const r = await c.cfs(b, ['smb', 'status', '--json']);
        const held = (JSON.parse(r.stdout) as SmbStatus).elsewhere;
        return held.filter((e) => e.node === a.name && e.caching === 'RWH').length === files;
      });
    const pause = (n: ClusterNode) => process.kill(n.process!.pid, 'SIGSTOP');
    const resume = (n: ClusterNode) => process.kill(n.process!.pid, 'SIGCONT');
    const { user, password } = a.access;
    const c1 = await connectedClient(a.access.smbPort, user, password, { dialects: SMB3 });
    /** An open on node a holding read, write and handle caching of `key`. */
    const leased = async (file: string) => {
      const k = randomBytes(16);
      const r = await c1.request({
        command: CMD.CREATE,
        body: createBody(`${BUCKET}\\${file}`, {
          disposition: DISPOSITION.OPEN_IF,
          oplock: LEASE,
          contexts: createContexts([leaseV2(k, R | W | H)]),
        }),
      });
      equal(leaseOf(r).state, R | W | H);
      return { k, fid: fileIdOf(r) };
    };
    // A 1-s break timeout on both nodes (a live key): node b waits 6 s for node a.
    await setBreakTimeout([a, b], '1s');
    try {
      const silent = await leased('silent.txt');
      await untilCachedOnA(1, "node b knows node a's client caches silent.txt");
      const unansweredBefore = await remote(b, 'unanswered');
      pause(a);
      let took: number;
      try {
        const t0 = performance.now();
        await put(c, b, 'silent.txt', Buffer.from('put on b while node a stood still'));
        took = performance.now() - t0;
      } finally {
        resume(a);
      }
      ok(took >= 6_000, `the PUT waited for node a: ${Math.round(took)} ms`);
      equal(await remote(b, 'unanswered'), unansweredBefore + 1, 'counted as a node that did not answer');
      await c1.request({ command: CMD.CLOSE, body: closeBody(silent.fid) });
      await untilCachedOnA(0, 'node b has heard silent.txt is closed');

      // Node b asks, node a's client answers while node b stands still past the 6-s wait.
      const late = await leased('late.txt');
      await untilCachedOnA(1, "node b knows node a's client caches late.txt");
      const answeredBefore = await remote(b, 'answered');
      const putting = put(c, b, 'late.txt', Buffer.from('put on b'));
      // (Node a, resumed, may first have recalled silent.txt too: node b's request it never answered.)
      await until("node a's client is asked to give late.txt up", 30_000, async () =>
        c1.repliesFor(BREAK_MID).some((r) => parseBreak(r).key.equals(late.k)),
      );
      pause(b);
      try {
        equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(late.k, 0) })).status, 0);
        await new Promise((r) => setTimeout(r, 7_000));
      } finally {
        resume(b);
      }
      await putting;
      // (The PUT also left the replaced late.txt nameless for node a's open: node b may have
      // asked node a to settle it, an answer more.)
      const answered = await remote(b, 'answered');
      ok(answered >= answeredBefore + 1, `node a's answer, read after the pause, is taken (${answered})`);
      equal(await remote(b, 'unanswered'), unansweredBefore + 1, 'not counted as unanswered');
      ok(/event loop stood still for/.test(b.process!.output()), 'node b logged its stall');
      await c1.request({ command: CMD.CLOSE, body: closeBody(late.fid) });
    } finally {
      c1.close();
      await setBreakTimeout([a, b], undefined);
    }
  });

  test("7g an SMB open on node b keeps its file when node a's NFS client removes the name, and through node a's restart; at its close on node b the file goes", async () => {
    await smbOnBNfsOnA(async ({ smb, nfsA, sql }) => {
      const read = async (fid: Buffer) => {
        const r = await smb.request({ command: CMD.READ, body: readBody(fid, 0n, 4096) });
        if (r.status !== 0) return `status 0x${r.status.toString(16)}`;
        const at = r.body[2]!;
        return r.raw.subarray(at, at + r.body.readUInt32LE(4)).toString();
      };
      const created = await smb.request({
        command: CMD.CREATE,
        body: createBody(`${BUCKET}\\held-on-b.txt`, {
          disposition: DISPOSITION.CREATE,
          options: OPTION.NON_DIRECTORY_FILE,
        }),
      });
      equal(created.status, 0, 'SMB create on node b');
      const fid = fileIdOf(created);
      equal(
        (await smb.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('held on b')) }))
          .status,
        0,
      );
      const [entry] = await sql(
        'SELECT ino::text AS ino FROM claudefs.dirents WHERE name = $1',
        'held-on-b.txt',
      );
      const ino = (entry as { ino: string }).ino;
      // Node a learns of node b's open through the shared table.
      await until("node a sees node b's open", 10_000, async () => {
        const r = await c.cfs(a, ['smb', 'status', '--json']);
        return (JSON.parse(r.stdout) as SmbStatus).elsewhere.some((e) => String(e.ino) === ino);
      });

      await nfsA.remove(await nfsA.mustLookup(nfsA.root, BUCKET), 'held-on-b.txt');
      equal(
        (await c.nfsCat(gc, `${BUCKET}/held-on-b.txt`)).code !== 0,
        true,
        'the name is gone on every node',
      );
      deepEqual(
        (await sql('SELECT purpose FROM claudefs.detached WHERE ino = $1', ino)).map(
          (r: { purpose: string }) => r.purpose,
        ),
        ['open-unlinked'],
        'kept, with no name, for the open on node b',
      );
      equal(await read(fid), 'held on b');
      equal(
        (await smb.request({ command: CMD.WRITE, body: writeBody(fid, 5n, Buffer.from('ON B')) })).status,
        0,
      );
      equal(await read(fid), 'held ON B');

      // A restart of node a does not take the file node b's client holds.
      await c.stopNode(a);
      await c.startNode(a);
      equal(await read(fid), 'held ON B', "node a's restart left the open's file");
      equal((await sql('SELECT 1 FROM claudefs.inodes WHERE ino = $1', ino)).length, 1);

      equal((await smb.request({ command: CMD.CLOSE, body: closeBody(fid) })).status, 0);
      await goneForGood(sql, ino, 'the file to go at its last close');
    });
  });

  test("7h an SMB open on node b and node a's removal of its name at the same moment: whichever comes first, the open keeps the file or is told it is gone, never an open of nothing", async () => {
    await smbOnBNfsOnA(async ({ smb, nfsA, sql: one }) => {
      const openOnB = (name: string) =>
        smb.request({
          command: CMD.CREATE,
          body: createBody(`${BUCKET}\\${name}`, {
            disposition: DISPOSITION.OPEN,
            access: ACCESS.FILE_READ_DATA | ACCESS.FILE_WRITE_DATA,
            options: OPTION.NON_DIRECTORY_FILE,
          }),
        });
      const dir = await nfsA.mustLookup(nfsA.root, BUCKET);
      for (const first of ['open', 'removal'] as const) {
        const name = `race-${first}-first.txt`;
        await put(c, a, name, Buffer.from(`${first} first`));
        const [row] = await one('SELECT ino::text AS ino FROM claudefs.dirents WHERE name = $1', name);
        const ino = BigInt((row as { ino: string }).ino);
        // The test takes the file's open-decision lock, so that the open and the removal queue
        // for it in the order wanted, then lets them go at once: neither has seen the other.
        await one('SELECT pg_advisory_lock(7413, $1::int)', String(ino % 2147483647n));
        const waiting = (n: number) =>
          until(`${n} waiting for the open-decision lock`, 10_000, async () => {
            const [w] = await one(
              "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 7413 AND objid::bigint = $1 AND NOT granted",
              String(ino % 2147483647n),
            );
            return (w as { n: number }).n >= n;
          });
        let opened: ReturnType<typeof openOnB>;
        let removed: ReturnType<typeof nfsA.remove>;
        if (first === 'open') {
          opened = openOnB(name);
          await waiting(1);
          removed = nfsA.remove(dir, name);
          // A removal that does not wait for the open's decision is done before it is let go.
          await Promise.race([waiting(2), removed]);
        } else {
          removed = nfsA.remove(dir, name);
          await waiting(1);
          opened = openOnB(name);
          await waiting(2);
        }
        await one('SELECT pg_advisory_unlock(7413, $1::int)', String(ino % 2147483647n));
        const [o] = await Promise.all([opened, removed]);
        if (first === 'open') {
          equal(o.status, 0, 'the open came first');
          const fid = fileIdOf(o);
          const r = await smb.request({ command: CMD.READ, body: readBody(fid, 0n, 4096) });
          equal(r.status, 0, `the open reads the file whose name went after it (0x${r.status.toString(16)})`);
          equal(r.raw.subarray(r.body[2]!, r.body[2]! + r.body.readUInt32LE(4)).toString(), 'open first');
          deepEqual(
            (await one('SELECT purpose FROM claudefs.detached WHERE ino = $1', String(ino))).map(
              (d: { purpose: string }) => d.purpose,
            ),
            ['open-unlinked'],
          );
          equal((await smb.request({ command: CMD.CLOSE, body: closeBody(fid) })).status, 0);
        } else {
          equal(
            o.status,
            NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND,
            `the removal came first: the open is told the file is gone (0x${o.status.toString(16)})`,
          );
        }
        await goneForGood(one, String(ino), `${name} to go with its last close`);
      }
    });
  });

  test("7i node b's last close of a file not yet recorded as node a removes its name: the file still goes, not kept nameless for an open that is gone", async () => {
    await smbOnBNfsOnA(async ({ smb, nfsA, db, sql: one }) => {
      const name = 'closed-as-removed.txt';
      await put(c, a, name, Buffer.from('closed on b'));
      const [row] = await one('SELECT ino::text AS ino FROM claudefs.dirents WHERE name = $1', name);
      const ino = (row as { ino: string }).ino;
      const o = await smb.request({
        command: CMD.CREATE,
        body: createBody(`${BUCKET}\\${name}`, {
          disposition: DISPOSITION.OPEN,
          access: ACCESS.FILE_READ_DATA,
          options: OPTION.NON_DIRECTORY_FILE,
        }),
      });
      equal(o.status, 0);
      // Node b's row of the open is held back (a row lock the test takes), as a close not yet
      // recorded is: node a's removal still reads the open there, and keeps the file for it.
      await db.query('BEGIN');
      equal((await one('SELECT 1 FROM claudefs.open_holds WHERE ino = $1 FOR UPDATE', ino)).length, 1);
      equal((await smb.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(o)) })).status, 0);
      await nfsA.remove(await nfsA.mustLookup(nfsA.root, BUCKET), name);
      deepEqual(
        (await one('SELECT purpose FROM claudefs.detached WHERE ino = $1', ino)).map(
          (d: { purpose: string }) => d.purpose,
        ),
        ['open-unlinked'],
        'kept for the open node b had not yet recorded closed',
      );
      await db.query('ROLLBACK');
      await goneForGood(one, ino, 'the file to go once node b recorded its close');
    });
  });

  test('8 PostgreSQL stopped: every node opens its metadata circuit by itself, answers fast, and heals when it returns', async () => {
    await pg.stop();
    const seen = new Map<string, string>();
    try {
      const opened = await Promise.all(
        c.nodes.map((n) =>
          until(`${n.name} metadata circuit open`, 10_000, async () => {
            const h = await c.health(n);
            seen.set(n.name, JSON.stringify(h.checks.find((x) => x.name === 'metadata')));
            return (
              h.checks.find((x) => x.name === 'metadata')?.status === 'unhealthy' &&
              (await c.circuitState(n, 'metadata')) === 1
            );
          }).catch((e: Error) => {
            throw new Error(
              `${e.message}; last metadata check: ${seen.get(n.name)}; log: ${n.process?.output().slice(-3000)}`,
            );
          }),
        ),
      );
      console.log(`metadata circuit open on every node after ${opened.join(', ')} ms (no client traffic)`);
      ok(
        opened.every((ms) => ms <= 3000),
        `within 3 s: ${opened.join(', ')}`,
      );
      const t0 = performance.now();
      const failed = await put(c, b, 'during-outage.txt', Buffer.from('x')).then(
        () => 'ok',
        (e: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
          `${e.$metadata?.httpStatusCode} ${e.name}`,
      );
      const ms = performance.now() - t0;
      console.log(`S3 PUT during the outage: ${failed} in ${Math.round(ms)} ms`);
      ok(failed.startsWith('503'), failed);
    } finally {
      await pg.start();
    }
    const closed = await Promise.all(
      c.nodes.map((n) =>
        until(`${n.name} metadata healthy again`, 30_000, async () => {
          const h = await c.health(n);
          return h.checks.find((x) => x.name === 'metadata')?.status === 'healthy';
        }),
      ),
    );
    console.log(`metadata healthy again on every node after ${closed.join(', ')} ms`);
    for (const [key, data] of acknowledged) {
      for (const n of c.nodes) ok((await getBytes(c, n, key)).equals(data), `${key} intact on ${n.name}`);
    }
  });
});
