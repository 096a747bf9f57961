// S3 server against nginx (the HTTP ceiling on this machine) and dd (the disk's ceiling).
// The gateway runs as its own process (`./cfs gateway start s3`), loaded by wrk and by 16
// SDK clients in this process; nginx serves the same bytes with sendfile.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openControlPlane } from '../src/control/index.ts';
import { freePorts } from '../test/support/ports.ts';
import { warmWriteMemory } from './page-cache.ts';
import { type BenchRow, printTable } from './table.ts';

const CFS = fileURLToPath(new URL('../../../cfs', import.meta.url));
const MiB = 1024 * 1024;
const WRK_SECONDS = Number(process.env.CFS_BENCH_WRK_SECONDS ?? 10);
const PUT_SECONDS = Number(process.env.CFS_BENCH_PUT_SECONDS ?? 10);
/** Alternating wrk rounds per GET row; each figure is the median (CFS_BENCH_WRK_ROUNDS). */
const WRK_ROUNDS = Math.max(1, Number(process.env.CFS_BENCH_WRK_ROUNDS ?? 3));
const base = mkdtempSync(join(process.env.CFS_BENCH_DIR ?? tmpdir(), 'cfs-s3-bench-'));
chmodSync(base, 0o755);
const rows: BenchRow[] = [];
const children: Array<{ kill(sig?: NodeJS.Signals): boolean }> = [];

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} never answered`);
}

interface WrkResult {
  reqPerSec: number;
  bytesPerSec: number;
  p99Ms: number;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: MiB, GB: 1024 * MiB };

function wrk(url: string, seconds = WRK_SECONDS): WrkResult {
  const out = execFileSync('wrk', ['-t2', '-c16', `-d${seconds}s`, '--latency', url], {
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const t = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99Ms = p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : Number.NaN;
  if (/Non-2xx/.test(out)) throw new Error(`wrk saw errors from ${url}:\n${out}`);
  return { reqPerSec: rps, bytesPerSec: t ? Number(t[1]) * (UNITS[t[2]!] ?? 1) : 0, p99Ms };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * wrk against both servers for WRK_ROUNDS rounds, each going first in every other one, after a
 * short unmeasured run of each; every figure is the median of its rounds. One run each swung
 * the GET 4 KiB ratio from 0.36× to 0.47× between two runs minutes apart on this shared VM.
 */
function alternating(
  gatewayUrl: string,
  nginxUrl: string,
  label: string,
): { gw: WrkResult; nginx: WrkResult } {
  wrk(gatewayUrl, 2);
  wrk(nginxUrl, 2);
  const runs = { gw: [] as WrkResult[], nginx: [] as WrkResult[] };
  for (let round = 0; round < WRK_ROUNDS; round++) {
    const sides = [
      ['gw', gatewayUrl],
      ['nginx', nginxUrl],
    ] as const;
    for (const [side, url] of round % 2 === 0 ? sides : [...sides].reverse()) runs[side].push(wrk(url));
    process.stderr.write(
      `  ${label} round ${round + 1}: gateway ${runs.gw[round]!.reqPerSec.toFixed(0)} req/s, p99 ${runs.gw[round]!.p99Ms} ms | nginx ${runs.nginx[round]!.reqPerSec.toFixed(0)} req/s, p99 ${runs.nginx[round]!.p99Ms} ms\n`,
    );
  }
  const mid = (rs: WrkResult[]): WrkResult => ({
    reqPerSec: median(rs.map((r) => r.reqPerSec)),
    bytesPerSec: median(rs.map((r) => r.bytesPerSec)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
  });
  return { gw: mid(runs.gw), nginx: mid(runs.nginx) };
}

try {
  // ---- the gateway, with a user, a key and a public-read bucket ----
  const [s3Port, healthPort, nginxPort] = (await freePorts(3)) as [number, number, number];
  const state = join(base, 'state');
  const config = join(base, 'gateway.yaml');
  writeFileSync(
    config,
    `node: { name: bench, state_dir: ${state} }
log_level: warn
s3: { bind: 127.0.0.1:${s3Port}, root: /export, public_read_buckets: [bench] }
health: { bind: 127.0.0.1:${healthPort} }
limits: { max_connections: 1000 }
`,
  );
  const control = await openControlPlane({ stateDir: state });
  await control.users.add({ name: 'bench', uid: 3000 });
  const key = await control.s3Keys.create('bench');
  await control.close();
  const gw = spawn(CFS, ['gateway', 'start', 's3', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(gw);
  const endpoint = `http://127.0.0.1:${s3Port}`;
  await waitFor(endpoint);
  const client = () =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
    });
  const c = client();
  await c.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const oneMiB = Buffer.alloc(MiB, 0x61);
  const fourKiB = Buffer.alloc(4096, 0x62);
  await c.send(new PutObjectCommand({ Bucket: 'bench', Key: '1m.bin', Body: oneMiB }));
  await c.send(new PutObjectCommand({ Bucket: 'bench', Key: '4k.bin', Body: fourKiB }));

  // ---- nginx serving the same bytes ----
  const www = join(base, 'www');
  mkdirSync(join(www, 'bench'), { recursive: true });
  mkdirSync(join(base, 'nginx', 'logs'), { recursive: true });
  writeFileSync(join(www, 'bench', '1m.bin'), oneMiB);
  writeFileSync(join(www, 'bench', '4k.bin'), fourKiB);
  chmodSync(www, 0o755);
  writeFileSync(
    join(base, 'nginx', 'nginx.conf'),
    `daemon off;
worker_processes auto;
pid ${join(base, 'nginx', 'nginx.pid')};
error_log ${join(base, 'nginx', 'logs', 'error.log')};
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${join(base, 'nginx')};
  proxy_temp_path ${join(base, 'nginx')};
  fastcgi_temp_path ${join(base, 'nginx')};
  uwsgi_temp_path ${join(base, 'nginx')};
  scgi_temp_path ${join(base, 'nginx')};
  server { listen 127.0.0.1:${nginxPort}; root ${www}; }
}
`,
  );
  const nginx = spawn('nginx', ['-p', join(base, 'nginx'), '-c', join(base, 'nginx', 'nginx.conf')], {
    stdio: 'inherit',
  });
  children.push(nginx);
  const nginxUrl = `http://127.0.0.1:${nginxPort}`;
  await waitFor(nginxUrl);

  // ---- GET 1 MiB and 4 KiB: wrk -t2 -c16 on the public-read URL, alternating rounds ----
  const { gw: g1, nginx: n1 } = alternating(
    `${endpoint}/bench/1m.bin`,
    `${nginxUrl}/bench/1m.bin`,
    'GET 1 MiB',
  );
  rows.push({
    workload: `GET 1 MiB (wrk -t2 -c16), median of ${WRK_ROUNDS}`,
    gateway: g1.bytesPerSec / MiB,
    unit: 'MiB/s',
    peer: n1.bytesPerSec / MiB,
    peerName: 'nginx',
    target: '≥ 0.6× nginx',
    met: g1.bytesPerSec >= 0.6 * n1.bytesPerSec,
  });
  const { gw: g4, nginx: n4 } = alternating(
    `${endpoint}/bench/4k.bin`,
    `${nginxUrl}/bench/4k.bin`,
    'GET 4 KiB',
  );
  rows.push({
    workload: `GET 4 KiB (wrk -t2 -c16), median of ${WRK_ROUNDS}`,
    gateway: g4.reqPerSec,
    unit: 'req/s',
    peer: n4.reqPerSec,
    peerName: 'nginx',
    target: '≥ 0.5× nginx',
    met: g4.reqPerSec >= 0.5 * n4.reqPerSec,
  });
  rows.push({
    workload: `GET 4 KiB p99 at 16 connections, median of ${WRK_ROUNDS}`,
    gateway: g4.p99Ms,
    unit: 'ms',
    peer: n4.p99Ms,
    peerName: 'nginx',
    target: '≤ 5 ms',
    met: g4.p99Ms <= 5,
  });

  // ---- PUT 1 MiB from 16 concurrent SDK clients vs dd conv=fdatasync ----
  const clients = Array.from({ length: 16 }, client);
  warmWriteMemory(base, 1024 * MiB);
  let puts = 0;
  const deadline = performance.now() + PUT_SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    clients.map(async (cl, i) => {
      for (let n = 0; performance.now() < deadline; n++) {
        await cl.send(new PutObjectCommand({ Bucket: 'bench', Key: `put/${i}/${n % 8}`, Body: oneMiB }));
        puts++;
      }
    }),
  );
  const putMiBs = puts / ((performance.now() - started) / 1000);
  warmWriteMemory(base, 1024 * MiB);
  const dd = spawnSync(
    'dd',
    ['if=/dev/zero', `of=${join(base, 'dd.bin')}`, 'bs=1M', 'count=1024', 'conv=fdatasync'],
    { encoding: 'utf8' },
  );
  const ddm = /([\d.]+) (GB|MB|kB)\/s/.exec(dd.stderr);
  const ddMiBs = ddm
    ? (Number(ddm[1]) * (ddm[2] === 'GB' ? 1e9 : ddm[2] === 'MB' ? 1e6 : 1e3)) / MiB
    : Number.NaN;
  rows.push({
    workload: 'PUT 1 MiB, 16 SDK clients',
    gateway: putMiBs,
    unit: 'MiB/s',
    peer: ddMiBs,
    peerName: 'dd fdatasync',
    target: '≥ 0.6× dd',
    met: putMiBs >= 0.6 * ddMiBs,
  });

  printTable('S3 server (gateway process; wrk, SDK clients, nginx, dd on 127.0.0.1)', rows);
  const outDir = new URL('../../../bench-output/', import.meta.url).pathname;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 's3.json'), `${JSON.stringify(rows, null, 2)}\n`);
  for (const cl of [c, ...clients]) cl.destroy();
} finally {
  for (const ch of children) ch.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  rmSync(base, { recursive: true, force: true });
}
