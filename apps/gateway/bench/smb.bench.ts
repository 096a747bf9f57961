// SMB server against Samba's smbd 4.17 (started here, standalone, on another port), with the
// same client on both sides: smbclient put/get of one large file, plain and SMB3-encrypted, and
// smbtorture's smb2.bench.echo request rate. The gateway runs as its own process
// (`./cfs gateway start smb`). CFS_BENCH_SMB_BYTES sets the file size (default 1 GiB),
// CFS_BENCH_SMB_ROUNDS the rounds (each side first in every other one) whose median each
// transfer row reports (3).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openControlPlane } from '../src/control/index.ts';
import { freePorts } from '../test/support/ports.ts';
import { warmWriteMemory } from './page-cache.ts';
import { tortureRate } from './smbtorture.ts';
import { type BenchRow, printTable } from './table.ts';

const exec = promisify(execFile);
const CFS = fileURLToPath(new URL('../../../cfs', import.meta.url));
const BYTES = Number(process.env.CFS_BENCH_SMB_BYTES ?? 1024 * 1024 * 1024);
const ECHO_SECONDS = Number(process.env.CFS_BENCH_ECHO_SECONDS ?? 10);
/** Alternating rounds per transfer row; the row reports each side's median (disk weather here). */
const ROUNDS = Math.max(1, Number(process.env.CFS_BENCH_SMB_ROUNDS ?? 3));
const base = mkdtempSync(join(process.env.CFS_BENCH_DIR ?? tmpdir(), 'cfs-smb-bench-'));
chmodSync(base, 0o755);
const rows: BenchRow[] = [];
const children: Array<{ kill(sig?: NodeJS.Signals): boolean }> = [];
const PASSWORD = 'Bench-smb-1';

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Wall-clock seconds of one smbclient command line (the file is on local disk on both ends). */
async function smbclient(
  port: number,
  share: string,
  auth: string,
  command: string,
  extra: string[] = [],
): Promise<number> {
  const t = performance.now();
  const { stdout, stderr } = await exec(
    'smbclient',
    ['-p', String(port), `//127.0.0.1/${share}`, '-U', auth, ...extra, '-c', command],
    { cwd: base, maxBuffer: 1 << 20, timeout: 600_000 },
  );
  if (/NT_STATUS_/.test(stdout + stderr)) throw new Error(`smbclient ${command}: ${stdout}${stderr}`);
  return (performance.now() - t) / 1000;
}

const MB = 1e6;

try {
  // ---- one large file of random bytes ----
  const file = join(base, 'big.bin');
  const fd = openSync(file, 'w');
  const chunk = randomBytes(8 * 1024 * 1024);
  for (let left = BYTES; left > 0; left -= chunk.length)
    writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  closeSync(fd);

  // ---- the gateway, serving SMB only ----
  const [smbPort, healthPort, sambaPort] = (await freePorts(3)) as [number, number, number];
  const state = join(base, 'state');
  const config = join(base, 'gateway.yaml');
  writeFileSync(
    config,
    `node: { name: bench, state_dir: ${state} }
log_level: warn
smb: { bind: 127.0.0.1:${smbPort}, shares: [{ name: bench, path: /bench }] }
health: { bind: 127.0.0.1:${healthPort} }
`,
  );
  const control = await openControlPlane({ stateDir: state });
  await control.users.add({ name: 'bench', uid: 3000, password: PASSWORD });
  await control.close();
  const gw = spawn(
    CFS,
    ['gateway', 'start', 'smb', '--config', config, '--domain', 'CLAUDEFS', '--workgroup', 'CLAUDEFS'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.push(gw);
  await waitForPort(smbPort);

  // ---- Samba smbd 4.17, standalone, same machine, its own port ----
  const sdir = join(base, 'samba');
  const share = join(sdir, 'share');
  for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'log'])
    mkdirSync(join(sdir, d), { recursive: true });
  mkdirSync(share, { recursive: true });
  chmodSync(share, 0o777);
  const smbConf = join(sdir, 'smb.conf');
  writeFileSync(
    smbConf,
    `[global]
  smb ports = ${sambaPort}
  interfaces = lo
  bind interfaces only = yes
  disable netbios = yes
  server role = standalone server
  workgroup = CLAUDEFS
  private dir = ${join(sdir, 'private')}
  lock directory = ${join(sdir, 'lock')}
  state directory = ${join(sdir, 'state')}
  cache directory = ${join(sdir, 'cache')}
  pid directory = ${join(sdir, 'pid')}
  ncalrpc dir = ${join(sdir, 'ncalrpc')}
  log file = ${join(sdir, 'log', 'log.%m')}
  passdb backend = tdbsam
  server min protocol = SMB2_02
[bench]
  path = ${share}
  read only = no
`,
  );
  await new Promise<void>((resolve, reject) => {
    const p = spawn('smbpasswd', ['-c', smbConf, '-a', '-s', 'root'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    p.stdin.end(`${PASSWORD}\n${PASSWORD}\n`);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`smbpasswd exited ${code}`))));
  });
  // Its own process group (detached): smbd signals its group on the way out, which must not be ours.
  const smbd = spawn('smbd', ['--foreground', '--no-process-group', '--debug-stdout', '-s', smbConf], {
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  children.push({ kill: (sig) => (smbd.pid ? process.kill(-smbd.pid, sig) : false) });
  await waitForPort(sambaPort);

  const sides = [
    { name: 'gateway', port: smbPort, auth: `bench%${PASSWORD}` },
    { name: 'smbd 4.17', port: sambaPort, auth: `root%${PASSWORD}` },
  ] as const;
  const measure = async (protection: string[], round = 0) => {
    const out: Record<string, { put: number; get: number }> = {};
    // Each server goes first in every other round: on this VM the second put of a round ran up
    // to three times the speed of the first (page-cache memory the first one got back).
    for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
      // Each put starts with the page cache's memory ready and nothing dirty (page-cache.ts),
      // so one side's writes neither throttle nor pay for the other's.
      warmWriteMemory(base, BYTES);
      const put = await smbclient(s.port, 'bench', s.auth, 'put big.bin big.bin', protection);
      // Into /dev/null: the client's own disk (its dirty pages throttled by writeback) is not
      // what is measured; the server reads the file from its page cache on both sides.
      const get = await smbclient(s.port, 'bench', s.auth, 'get big.bin /dev/null', protection);
      await smbclient(s.port, 'bench', s.auth, 'del big.bin', protection);
      out[s.name] = { put: BYTES / put / MB, get: BYTES / get / MB };
    }
    return out;
  };
  const size = BYTES >= 1 << 30 ? `${BYTES / (1 << 30)} GiB` : `${Math.round(BYTES / (1 << 20))} MiB`;
  // One untimed round first, on both sides alike: the gateway's first transfer also pays for
  // compiling its hot paths (V8 JIT), which a server that has run for a minute has long done.
  await measure([]);
  const median = async (protection: string[]) => {
    const runs: Array<Awaited<ReturnType<typeof measure>>> = [];
    for (let i = 0; i < ROUNDS; i++) {
      const r = await measure(protection, i);
      runs.push(r);
      // Every round on stderr: the median hides how far apart single transfers are here.
      const each = Object.entries(r).map(([n, v]) => `${n} put ${v.put.toFixed(0)} get ${v.get.toFixed(0)}`);
      process.stderr.write(
        `  round ${i + 1}${protection.length ? ` (${protection.join(' ')})` : ''}, MB/s: ${each.join(' | ')}\n`,
      );
    }
    const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const out: Record<string, { put: number; get: number }> = {};
    for (const s of sides) {
      out[s.name] = {
        put: mid(runs.map((r) => r[s.name]!.put)),
        get: mid(runs.map((r) => r[s.name]!.get)),
      };
    }
    return out;
  };
  const plain = await median([]);
  await measure(['--client-protection=encrypt']);
  const enc = await median(['--client-protection=encrypt']);
  for (const [label, r] of [
    ['', plain],
    [' encrypted (SMB 3.1.1, AES-128-GCM)', enc],
  ] as const) {
    // The SMB issue's targets: plain transfers at least smbd's speed, encrypted ≥ 0.8×.
    const want = label === '' ? 1.0 : 0.8;
    for (const op of ['put', 'get'] as const) {
      const gwv = r.gateway![op];
      const peer = r['smbd 4.17']![op];
      rows.push({
        workload: `smbclient ${op} ${size}${label}, median of ${ROUNDS}`,
        gateway: gwv,
        unit: 'MB/s',
        peer,
        peerName: 'smbd 4.17',
        target: `≥ ${want.toFixed(1)}× smbd`,
        met: gwv >= want * peer,
      });
    }
  }
  // The gateway's CLOSE returns once the file is on disk (the crash-safety guarantee); smbd's
  // returns with the bytes still in the page cache. The disk's own rate for the same bytes,
  // made durable, is the ceiling a durable put can reach: printed beside the put rows.
  await exec('sync');
  const ddStarted = performance.now();
  await exec('dd', [
    'if=/dev/zero',
    `of=${join(base, 'dd.bin')}`,
    'bs=1M',
    `count=${Math.round(BYTES / (1 << 20))}`,
    'conv=fdatasync',
  ]);
  const ddMBs = BYTES / ((performance.now() - ddStarted) / 1000) / MB;
  rmSync(join(base, 'dd.bin'), { force: true });
  rows.push({
    workload: `disk: ${size} written and made durable (dd conv=fdatasync), the ceiling of a durable put`,
    gateway: ddMBs,
    unit: 'MB/s',
    target: '(info)',
    met: true,
  });
  for (const [test, what, label] of [
    ['smb2.bench.echo', 'echo', 'smbtorture smb2.bench.echo (4 connections)'],
    [
      'smb2.bench.path-contention-shared',
      'open',
      'smbtorture smb2.bench.path-contention-shared opens (4 connections)',
    ],
  ] as const) {
    const run = { share: 'bench', test, what, seconds: ECHO_SECONDS };
    // A failed run (smbtorture gives an echo 1 s) is a row of its own, not the end of the table.
    const failed: string[] = [];
    const rate = (side: string, port: number, auth: string) =>
      tortureRate({ ...run, port, auth }).catch((e: unknown) => {
        const out = e as { stdout?: unknown; stderr?: unknown };
        const why = /NT_STATUS_[A-Z_]+/.exec(`${out.stdout}${out.stderr}`)?.[0];
        failed.push(`${side}: ${why ?? (e instanceof Error ? e.message.split('\n')[0] : String(e))}`);
        process.stderr.write(`  ${test} against ${side} failed:\n${String(e)}\n`);
        return 0;
      });
    const gw = await rate('gateway', smbPort, `bench%${PASSWORD}`);
    const smbd = await rate('smbd 4.17', sambaPort, `root%${PASSWORD}`);
    rows.push({
      workload: failed.length === 0 ? label : `${label} — FAILED (${failed.join('; ')})`,
      gateway: gw,
      unit: `${what}/s`,
      peer: smbd,
      peerName: 'smbd 4.17',
      target: '≥ 0.5× smbd',
      met: failed.length === 0 && gw >= 0.5 * smbd,
    });
    if (failed.length > 0) process.exitCode = 1;
  }

  printTable('SMB server (gateway process vs Samba smbd 4.17 on 127.0.0.1; smbclient, smbtorture)', rows);
  const outDir = new URL('../../../bench-output/', import.meta.url).pathname;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'smb.json'), `${JSON.stringify(rows, null, 2)}\n`);
} finally {
  for (const ch of children) ch.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(base, { recursive: true, force: true });
}
