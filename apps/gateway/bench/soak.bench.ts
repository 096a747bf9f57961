// Soak (issue 9): a gateway process (`./cfs gateway start`) under mixed NFS + S3 + SMB load for
// CFS_BENCH_SOAK_SECONDS (default 600). Each protocol has writers cycling create, write, read
// and delete of 16 KiB files, and every CHURN_EVERY cycles a writer drops its connection and
// opens a new one, so per-file and per-connection state that is never freed shows as growth.
// The gateway's VmRSS (/proc/PID/status) and open descriptors (/proc/PID/fd) are sampled
// every CFS_BENCH_SOAK_SAMPLE_SECONDS (default 5). Warm-up is the first fifth of the run (at
// most 60 s); growth is judged from its end to the run's end. Prints one table and writes
// bench-output/soak.json (the rows) and bench-output/soak-samples.csv; exits 1 when an operation failed.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { loadConfig } from '../src/config/load.ts';
import { openControlPlane } from '../src/control/index.ts';
import { Nfsstat3, Proc, StableHow, statusName } from '../src/protocols/nfs/v3/constants.ts';
import { ACCESS, CMD, DISPOSITION, OPTION } from '../src/protocols/smb/constants.ts';
import { ntStatusName } from '../src/protocols/smb/deps.ts';
import { type ClientUser, connectNfs, connectSmb, type NfsSession, s3Client } from '../test/faults/rig.ts';
import { A, R } from '../test/nfs-v3/wire.ts';
import { CFS, writeGatewayConfig } from '../test/quota/fixture.ts';
import { closeBody, createBody, fileIdOf, readBody, type TestClient, writeBody } from '../test/smb/client.ts';
import { spawnProcess } from '../test/support/proc.ts';
import { makeTempDir } from '../test/support/tmpdir.ts';
import { type BenchRow, printTable } from './table.ts';

const SECONDS = Number(process.env.CFS_BENCH_SOAK_SECONDS ?? 600);
const SAMPLE_MS = Number(process.env.CFS_BENCH_SOAK_SAMPLE_SECONDS ?? 5) * 1000;
const WARMUP_MS = Math.min(60_000, (SECONDS * 1000) / 5);
const WRITERS = 2;
const FILE_BYTES = 16 * 1024;
const NAMES = 20;
const CHURN_EVERY = 50;
const BUCKET = 'soak';

interface Sample {
  atMs: number;
  rssKiB: number;
  fds: number;
  ops: number;
}

const dir = makeTempDir('soak');
const configFile = await writeGatewayConfig(dir, 'limits: { max_connections: 256 }');
const { config, problems } = await loadConfig(configFile, { checkPorts: false });
if (!config) throw new Error(`bad bench config: ${JSON.stringify(problems)}`);
const user: ClientUser = {
  name: 'soak',
  password: 'Soak-test-pw-1',
  uid: 0,
  gid: 0,
  accessKeyId: '',
  secret: '',
};
const cp = await openControlPlane({ stateDir: config.stateDir });
try {
  const u = await cp.users.add({ name: user.name, password: user.password });
  const k = await cp.s3Keys.create(user.name);
  Object.assign(user, { uid: u.uid, gid: u.gid, accessKeyId: k.accessKeyId, secret: k.secret });
} finally {
  await cp.close();
}
const ports = { nfs: config.nfs.bind.port, mount: config.nfs.mountBind.port };
const smbPort = config.smb.bind.port;
const s3Port = config.s3.bind.port;

const gateway = spawnProcess(CFS, ['gateway', 'start', '--config', configFile], {
  name: 'gateway',
  env: { CFS_ADMIN_PASSWORD: 'soak-admin-password-1' },
});
await gateway.waitForLine(/gateway started/, 60_000);
const pid = gateway.pid;

const ops = { nfs: 0, s3: 0, smb: 0 };
const failures: string[] = [];
let stopping = false;
const payload = (i: number) => Buffer.alloc(FILE_BYTES, i & 0xff);

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

async function nfsWriter(w: number): Promise<void> {
  let s: NfsSession = await connectNfs(ports, user, `soak-${w}`);
  const found = await s.call(Proc.LOOKUP, A.lookup(s.root, BUCKET), R.lookup);
  check(found.status === Nfsstat3.OK, `LOOKUP ${BUCKET}`);
  const dirFh = found.fh!;
  for (let i = 0; !stopping; i++) {
    const name = `nfs-${w}-${i % NAMES}`;
    const c = await s.call(Proc.CREATE, A.create(dirFh, name, 'unchecked', { mode: 0o644 }), R.newObject);
    check(c.status === Nfsstat3.OK, `NFS CREATE: ${statusName(c.status)}`);
    const wr = await s.call(Proc.WRITE, A.write(c.fh!, 0n, payload(i), StableHow.FILE_SYNC), R.write);
    check(wr.status === Nfsstat3.OK, `NFS WRITE: ${statusName(wr.status)}`);
    const rd = await s.call(Proc.READ, A.read(c.fh!, 0n, FILE_BYTES), R.read);
    check(rd.status === Nfsstat3.OK && rd.data!.equals(payload(i)), 'NFS READ returned other bytes');
    const rm = await s.call(Proc.REMOVE, A.remove(dirFh, name), R.wccOnly);
    check(rm.status === Nfsstat3.OK, `NFS REMOVE: ${statusName(rm.status)}`);
    ops.nfs += 4;
    if (i % CHURN_EVERY === CHURN_EVERY - 1) {
      s.close();
      s = await connectNfs(ports, user, `soak-${w}`);
    }
  }
  s.close();
}

async function s3Writer(w: number): Promise<void> {
  let s: S3Client = s3Client(s3Port, user);
  for (let i = 0; !stopping; i++) {
    const Key = `s3-${w}-${i % NAMES}`;
    await s.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: payload(i) }));
    const got = await s.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    check(
      Buffer.from(await got.Body!.transformToByteArray()).equals(payload(i)),
      'S3 GET returned other bytes',
    );
    await s.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
    ops.s3 += 3;
    if (i % CHURN_EVERY === CHURN_EVERY - 1) {
      s.destroy();
      s = s3Client(s3Port, user);
    }
  }
  s.destroy();
}

async function smbWriter(w: number): Promise<void> {
  let s: TestClient = await connectSmb(smbPort, user);
  const call = async (command: number, body: Buffer, what: string) => {
    const r = await s.request({ command, body });
    check(r.status === 0, `SMB ${what}: ${ntStatusName(r.status)}`);
    return r;
  };
  for (let i = 0; !stopping; i++) {
    const path = `${BUCKET}\\smb-${w}-${i % NAMES}`;
    const c = await call(
      CMD.CREATE,
      createBody(path, {
        access: 0x0012019f | ACCESS.DELETE,
        disposition: DISPOSITION.OVERWRITE_IF,
        options: OPTION.NON_DIRECTORY_FILE | OPTION.DELETE_ON_CLOSE,
      }),
      'CREATE',
    );
    const fid = fileIdOf(c);
    await call(CMD.WRITE, writeBody(fid, 0n, payload(i)), 'WRITE');
    const r = await call(CMD.READ, readBody(fid, 0n, FILE_BYTES), 'READ');
    const at = r.body[2]!;
    check(
      r.raw.subarray(at, at + r.body.readUInt32LE(4)).equals(payload(i)),
      'SMB READ returned other bytes',
    );
    await call(CMD.CLOSE, closeBody(fid), 'CLOSE');
    ops.smb += 4;
    if (i % CHURN_EVERY === CHURN_EVERY - 1) {
      s.close();
      s = await connectSmb(smbPort, user);
    }
  }
  s.close();
}

function sampleGateway(atMs: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return { atMs, rssKiB, fds: readdirSync(`/proc/${pid}/fd`).length, ops: ops.nfs + ops.s3 + ops.smb };
}

const setup = s3Client(s3Port, user);
await setup.send(new CreateBucketCommand({ Bucket: BUCKET }));
setup.destroy();

console.log(
  `soak: ${SECONDS} s (CFS_BENCH_SOAK_SECONDS), warm-up ${WARMUP_MS / 1000} s, a sample every ${SAMPLE_MS / 1000} s; gateway PID ${pid}`,
);
const t0 = performance.now();
const samples: Sample[] = [sampleGateway(0)];
const sampler = setInterval(() => {
  const s = sampleGateway(performance.now() - t0);
  samples.push(s);
  console.log(
    `  ${(s.atMs / 1000).toFixed(0).padStart(5)} s  RSS ${(s.rssKiB / 1024).toFixed(1)} MiB  fds ${s.fds}  ops ${s.ops}`,
  );
}, SAMPLE_MS);
const writers = [
  ...Array.from({ length: WRITERS }, (_, w) => nfsWriter(w)),
  ...Array.from({ length: WRITERS }, (_, w) => s3Writer(w)),
  ...Array.from({ length: WRITERS }, (_, w) => smbWriter(w)),
].map((p) => p.catch((e: Error) => void failures.push(e.message)));
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const end = sampleGateway(performance.now() - t0);
samples.push(end);
stopping = true;
clearInterval(sampler);
await Promise.all(writers);
const elapsedS = (performance.now() - t0) / 1000;
// Every client gone: the descriptors the gateway still holds, against before the load began.
await new Promise((r) => setTimeout(r, 2000));
const idleAfter = sampleGateway(performance.now() - t0);
await gateway.stop();

const idleBefore = samples[0]!;
const warm = samples.find((s) => s.atMs >= WARMUP_MS) ?? idleBefore;
const growthPct = ((end.rssKiB - warm.rssKiB) / warm.rssKiB) * 100;
const peak = samples.filter((s) => s.atMs >= WARMUP_MS).reduce((m, s) => Math.max(m, s.rssKiB), 0);
const mib = (kib: number) => kib / 1024;
const total = ops.nfs + ops.s3 + ops.smb;
/** Sockets of the writers' connections come and go between samples: that many are not a leak. */
const FD_SLACK = 2 * 3 * WRITERS;
const rows: BenchRow[] = [
  {
    workload: `gateway RSS after warm-up (${(warm.atMs / 1000).toFixed(0)} s)`,
    gateway: mib(warm.rssKiB),
    unit: 'MiB',
    target: 'informational',
    met: true,
  },
  {
    workload: `gateway RSS at end (${elapsedS.toFixed(0)} s; peak after warm-up ${mib(peak).toFixed(1)} MiB)`,
    gateway: mib(end.rssKiB),
    unit: 'MiB',
    target: 'informational',
    met: true,
  },
  {
    workload: 'RSS growth from warm-up to end',
    gateway: growthPct,
    unit: '%',
    target: '≤ 10 %',
    met: growthPct <= 10,
  },
  {
    workload: `open descriptors under load, after warm-up → at end (${warm.fds} → ${end.fds})`,
    gateway: end.fds - warm.fds,
    unit: 'fds',
    target: `no growth (≤ +${FD_SLACK}, sockets in flight)`,
    met: end.fds - warm.fds <= FD_SLACK,
  },
  {
    workload: `open descriptors idle, before the load → after every client left (${idleBefore.fds} → ${idleAfter.fds})`,
    gateway: idleAfter.fds - idleBefore.fds,
    unit: 'fds',
    target: 'no growth',
    met: idleAfter.fds <= idleBefore.fds,
  },
  {
    workload: `operations (NFS ${ops.nfs}, S3 ${ops.s3}, SMB ${ops.smb}; ${WRITERS} writers each, reconnecting every ${CHURN_EVERY} cycles)`,
    gateway: total / elapsedS,
    unit: 'ops/s',
    target: 'informational',
    met: true,
  },
  {
    workload: `failed operations${failures.length ? `: ${failures.join('; ')}` : ''}`,
    gateway: failures.length,
    unit: 'writers',
    target: 'none',
    met: failures.length === 0,
  },
];
printTable(`Soak: ${SECONDS} s of mixed NFS + S3 + SMB load against a gateway process on 127.0.0.1`, rows);
const outDir = new URL('../../../bench-output/', import.meta.url).pathname;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'soak.json'), `${JSON.stringify(rows, null, 2)}\n`);
// Beside the rows (the summary reads every bench-output/*.json as rows): the samples, as CSV.
writeFileSync(
  join(outDir, 'soak-samples.csv'),
  `seconds,rss_kib,fds,ops\n${[...samples, idleAfter].map((x) => `${(x.atMs / 1000).toFixed(1)},${x.rssKiB},${x.fds},${x.ops}`).join('\n')}\n`,
);
process.exitCode = failures.length === 0 ? 0 : 1;
