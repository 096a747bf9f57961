// Mixed-protocol load on one gateway process and one namespace: each protocol's workload alone,
// then all three at once for the same time. What an operator wants to know: no protocol
// starves while the others are busy, and none fails. Workloads:
//   S3   8 SDK clients, PUT then GET of 64 KiB objects (in this process)
//   NFS  libnfs harness, 8 sessions of back-to-back GETATTR (test/nfs-v3/libnfs-harness.c)
//   SMB  smbtorture smb2.bench.path-contention-shared (4 connections opening/closing one path)
// The gateway has one event loop; three protocols at once share it, so each keeping a quarter
// of its solo rate (with no errors) is the target.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openControlPlane } from '../src/control/index.ts';
import { freePorts } from '../test/support/ports.ts';
import { tortureRate } from './smbtorture.ts';
import { type BenchRow, printTable } from './table.ts';

const exec = promisify(execFile);
const CFS = fileURLToPath(new URL('../../../cfs', import.meta.url));
const HARNESS_SOURCE = fileURLToPath(new URL('../test/nfs-v3/libnfs-harness.c', import.meta.url));
const SECONDS = Number(process.env.CFS_BENCH_MIXED_SECONDS ?? 10);
const PASSWORD = 'Mixed-bench-1';
const base = mkdtempSync(join(process.env.CFS_BENCH_DIR ?? tmpdir(), 'cfs-mixed-bench-'));
chmodSync(base, 0o755);

async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} never became ready`);
}

interface Rate {
  rate: number;
  errors: number;
}

const [s3Port, nfsPort, mountPort, smbPort, healthPort] = (await freePorts(5)) as [
  number,
  number,
  number,
  number,
  number,
];
const state = join(base, 'state');
const config = join(base, 'gateway.yaml');
writeFileSync(
  config,
  `node: { name: mixed-bench, state_dir: ${state} }
log_level: warn
s3: { bind: 127.0.0.1:${s3Port}, root: /export }
nfs: { bind: 127.0.0.1:${nfsPort}, mount_bind: 127.0.0.1:${mountPort}, exports: [{ path: /export, squash: none }] }
smb: { bind: 127.0.0.1:${smbPort}, shares: [{ name: export, path: /export }] }
health: { bind: 127.0.0.1:${healthPort}, probe_interval: 1h }
limits: { max_connections: 1000 }
`,
);
const control = await openControlPlane({ stateDir: state });
await control.users.add({ name: 'mixed', uid: 0, password: PASSWORD });
const key = await control.s3Keys.create('mixed');
await control.close();
const gw = spawn(CFS, ['gateway', 'start', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });

async function s3Load(seconds: number): Promise<Rate> {
  const body = Buffer.alloc(64 * 1024, 0x6d);
  let ops = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const c = new S3Client({
        endpoint: `http://127.0.0.1:${s3Port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
      });
      for (let n = 0; performance.now() < deadline; n++) {
        const Key = `mixed/${i}/${n % 16}`;
        try {
          await c.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: body }));
          const got = await c.send(new GetObjectCommand({ Bucket: 'bucket', Key }));
          if ((await got.Body!.transformToByteArray()).length !== body.length) errors++;
          ops += 2;
        } catch {
          errors++;
        }
      }
      c.destroy();
    }),
  );
  return { rate: ops / ((performance.now() - started) / 1000), errors };
}

async function nfsLoad(harness: string, seconds: number): Promise<Rate> {
  const url = `nfs://127.0.0.1/export?nfsport=${nfsPort}&mountport=${mountPort}&version=3`;
  try {
    const { stdout } = await exec(harness, [url, 'getattr', '/bucket/nfs-target', '8', String(seconds)]);
    return { rate: Number(/^rate (\S+)/m.exec(stdout)?.[1]), errors: 0 };
  } catch {
    return { rate: 0, errors: 1 };
  }
}

async function smbLoad(seconds: number): Promise<Rate> {
  try {
    const rate = await tortureRate({
      port: smbPort,
      share: 'export',
      auth: `mixed%${PASSWORD}`,
      test: 'smb2.bench.path-contention-shared',
      what: 'open',
      seconds,
    });
    return { rate, errors: 0 };
  } catch {
    return { rate: 0, errors: 1 };
  }
}

try {
  const harness = join(base, 'harness');
  spawnSync('gcc', ['-O2', '-o', harness, HARNESS_SOURCE, '-lnfs', '-lpthread'], { stdio: 'inherit' });
  await until('the gateway', async () => {
    if (gw.exitCode !== null) throw new Error(`the gateway exited with ${gw.exitCode}`);
    return (await fetch(`http://127.0.0.1:${healthPort}/health`).catch(() => undefined))?.ok === true;
  });
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${s3Port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'bucket' }));
  await s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'nfs-target', Body: 'getattr me' }));
  mkdirSync(join(base, 'out'), { recursive: true });

  const solo = {
    S3: await s3Load(SECONDS),
    NFS: await nfsLoad(harness, SECONDS),
    SMB: await smbLoad(SECONDS),
  };
  const [s3Mixed, nfsMixed, smbMixed] = await Promise.all([
    s3Load(SECONDS),
    nfsLoad(harness, SECONDS),
    smbLoad(SECONDS),
  ]);
  const mixed = { S3: s3Mixed, NFS: nfsMixed, SMB: smbMixed };
  const units = { S3: 'PUT+GET/s', NFS: 'GETATTR/s', SMB: 'open/s' } as const;
  const rows: BenchRow[] = (['S3', 'NFS', 'SMB'] as const).map((p) => ({
    workload: `${p} while the other two run (errors ${mixed[p].errors + solo[p].errors})`,
    gateway: mixed[p].rate,
    unit: units[p],
    peer: solo[p].rate,
    peerName: `${p} alone`,
    target: '≥ 0.25× alone, 0 errors',
    met: mixed[p].rate >= 0.25 * solo[p].rate && mixed[p].errors + solo[p].errors === 0,
  }));
  printTable(
    'Mixed-protocol load (one gateway, one namespace; each protocol alone, then all three at once)',
    rows,
  );
  const outDir = fileURLToPath(new URL('../../../bench-output/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'mixed.json'), `${JSON.stringify(rows, null, 2)}\n`);
  s3.destroy();
} finally {
  gw.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1000));
  if (gw.exitCode === null) gw.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
}
