// NFSv3 server against nfs-ganesha 4.3 (VFS backend), both on 127.0.0.1, one after the other,
// driven by the same clients: libnfs-utils (nfs-cp, nfs-cat) and the libnfs C client of the
// interop tests (test/nfs-v3/libnfs-harness.c: `files` and `getattr`). The gateway runs as its
// own process (`./cfs gateway start nfs`). ganesha needs rpcbind: one is started when none
// answers on port 111 (and stopped after). Without ganesha the gateway's figures are printed
// alone. The 1 GiB write and read alternate between the two servers (each first in every other
// round), CFS_BENCH_NFS_ROUNDS times (3), and each row reports the median: on this VM a single
// transfer varies by half or more. The one-session workloads — small files (create, write
// 4 KiB, close) and metadata only (MKDIR, RENAME, RMDIR of CFS_BENCH_NFS_DIRS (1000)
// directories) — alternate the same way between the gateway, ganesha and a second gateway with
// `durability.metadata: async`, which like ganesha answers CREATE before it is on disk.
// Listing: one session reads the first round's small-file directory (CFS_BENCH_NFS_FILES
// entries) with READDIRPLUS, LIST_TIMES times a round, alternating as GETATTR does, after
// LIST_WARMUP untimed listings on each server: a gateway's first listings after its start run
// at about half its speed while V8 compiles the listing's code (measured in session 53).
// Sizes: CFS_BENCH_NFS_BYTES (1 GiB), CFS_BENCH_NFS_FILES (2000), CFS_BENCH_GETATTR_SECONDS (5, a
// run; GETATTR alternates between the servers CFS_BENCH_NFS_ROUNDS times too).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { harnessFields } from '../test/nfs-v3/harness-output.ts';
import { freePorts } from '../test/support/ports.ts';
import { warmWriteMemory } from './page-cache.ts';
import { type BenchRow, printTable } from './table.ts';

const CFS = fileURLToPath(new URL('../../../cfs', import.meta.url));
const HARNESS_SOURCE = fileURLToPath(new URL('../test/nfs-v3/libnfs-harness.c', import.meta.url));
const MiB = 1024 * 1024;
const BYTES = Number(process.env.CFS_BENCH_NFS_BYTES ?? 1024 * MiB);
const FILES = Number(process.env.CFS_BENCH_NFS_FILES ?? 2000);
const DIRS = Number(process.env.CFS_BENCH_NFS_DIRS ?? 1000);
const GETATTR_SECONDS = Number(process.env.CFS_BENCH_GETATTR_SECONDS ?? 5);
const ROUNDS = Number(process.env.CFS_BENCH_NFS_ROUNDS ?? 3);
const WARM_UP_READS = 4;
const SESSIONS = 16;
/** Listings of the small-file directory a round (READDIRPLUS, every entry's attributes). */
const LIST_TIMES = 10;
/** Untimed listings before the first round (the JIT's warm-up: 200,000 entries at 2,000). */
const LIST_WARMUP = 100;
const base = mkdtempSync(join(process.env.CFS_BENCH_DIR ?? tmpdir(), 'cfs-nfs-bench-'));
chmodSync(base, 0o755);
const children: ChildProcess[] = [];

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function which(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`]).status === 0;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function timed(cmd: string, args: string[]): number {
  const t = performance.now();
  run(cmd, args);
  return (performance.now() - t) / 1000;
}

/** `rpcinfo -n PORT -t 127.0.0.1 100003 3` until the NFS program answers a NULL call. */
async function waitForNfs(port: number, what: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (spawnSync('rpcinfo', ['-n', String(port), '-t', '127.0.0.1', '100003', '3']).status === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} never answered NFS NULL on ${port}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface Figures {
  writeMiBs: number;
  readMiBs: number;
  filesPerSec: number;
  dirOpsPerSec: number;
  getattrRate: number;
  getattrP99Ms: number;
  listEntriesPerSec: number;
}

/** A server under test: `url(path)` names a path under its export. */
interface Server {
  url: (path: string) => string;
  stop: () => Promise<void>;
}

/**
 * One timed 1 GiB copy and read on a server. Before the write the page cache's memory is
 * readied and nothing is left dirty (page-cache.ts), and dirty pages are flushed (`sync`)
 * before the read, so one server's writes neither throttle nor pay for the next one's.
 */
function transfer(s: Server, local: string, name: string): { writeMiBs: number; readMiBs: number } {
  warmWriteMemory(base, BYTES);
  const writeSeconds = timed('nfs-cp', [local, s.url(`/export/${name}`)]);
  run('sync', []);
  const readSeconds = timed('sh', ['-c', `nfs-cat '${s.url(`/export/${name}`)}' > /dev/null`]);
  return { writeMiBs: BYTES / MiB / writeSeconds, readMiBs: BYTES / MiB / readSeconds };
}

/**
 * Untimed, on each server: a copy, then WARM_UP_READS reads of it. A fresh gateway's first
 * transfers also pay for compiling their hot paths (V8 JIT), which a server that has run for a
 * minute has long done. One GiB read is 1,024 READs, and V8 optimizes the READ path's
 * functions over the first three or four of them (`--trace-opt`: 90, 76, 22, 8 and then no
 * optimizations per GiB read; 1,200–1,900 → 2,300–3,000 MiB/s meanwhile), while ganesha reads
 * at its rate from the first one.
 */
function warmUp(s: Server, local: string): void {
  run('nfs-cp', [local, s.url('/export/warm-up.bin')]);
  for (let i = 0; i < WARM_UP_READS; i++) {
    run('sh', ['-c', `nfs-cat '${s.url('/export/warm-up.bin')}' > /dev/null`]);
  }
}

/**
 * The disk's writeback of what the transfers wrote (6 GiB between the two servers) is finished
 * before a metadata workload starts, for either server: its flushes would otherwise queue behind
 * gigabytes of another workload's pages.
 */
function quiesce(): void {
  run('sync', []);
}

/** One round of the one-session workloads on a server, from a disk with nothing left to write. */
function metadataRound(
  s: Server,
  harness: string,
  round: number,
): Pick<Figures, 'filesPerSec' | 'dirOpsPerSec'> {
  quiesce();
  const filesPerSec = sessionRate(s, harness, 'files', `/files-${round}`);
  const dirOpsPerSec = sessionRate(s, harness, 'dirs', `/dirs-${round}`);
  return { filesPerSec, dirOpsPerSec };
}

/**
 * SESSIONS sessions sending GETATTRs back to back for GETATTR_SECONDS, all from one client
 * thread's poll loop (the harness's `getattr … 1`). With a thread per session, 16 client
 * threads took turns on this machine's two cores with the server's, and the p99 measured those
 * turns (1.2–2.3 ms, either server); one thread leaves the server its cores and is the client
 * under which each server does best (ganesha's p99 1.10–1.35 ms, against 1.22–1.53 with 16
 * threads and 1.43–1.52 with two).
 */
function getattrRun(s: Server, harness: string): { rate: number; p99Ms: number } {
  const g = harnessFields(
    run(harness, [s.url('/export'), 'getattr', '/big-0.bin', String(SESSIONS), String(GETATTR_SECONDS), '1']),
  );
  return { rate: Number(g.rate), p99Ms: Number(g.p99_us) / 1000 };
}

/** One libnfs session's rate: `files` (create, write 4 KiB, close) or `dirs` (mkdir, rename, rmdir). */
function sessionRate(s: Server, harness: string, workload: 'files' | 'dirs', dir: string): number {
  const [count, figure] = workload === 'files' ? [FILES, 'files_per_sec'] : [DIRS, 'ops_per_sec'];
  return Number(harnessFields(run(harness, [s.url('/export'), workload, dir, String(count)]))[figure]);
}

async function startGateway(extraYaml = '', name = 'gateway'): Promise<Server> {
  const [nfsPort, mountPort, healthPort] = (await freePorts(3)) as [number, number, number];
  const state = join(base, `${name}-state`);
  const config = join(base, `${name}.yaml`);
  writeFileSync(
    config,
    `node: { name: nfs-bench, state_dir: ${state} }
log_level: warn
nfs: { bind: 127.0.0.1:${nfsPort}, mount_bind: 127.0.0.1:${mountPort}, exports: [{ path: /export, squash: none }] }
health: { bind: 127.0.0.1:${healthPort}, probe_interval: 1h }
limits: { max_connections: 1000 }
${extraYaml}
`,
  );
  const gw = spawn(CFS, ['gateway', 'start', 'nfs', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(gw);
  await waitForNfs(nfsPort, 'the gateway', gw);
  return {
    url: (path) => `nfs://127.0.0.1${path}?nfsport=${nfsPort}&mountport=${mountPort}&version=3`,
    stop: async () => {
      await stop(gw);
      rmSync(state, { recursive: true, force: true });
    },
  };
}

async function startGanesha(): Promise<Server> {
  const [nfsPort, mountPort, nlmPort] = (await freePorts(3)) as [number, number, number];
  const dir = join(base, 'ganesha');
  const exportDir = join(dir, 'export');
  mkdirSync(exportDir, { recursive: true });
  chmodSync(exportDir, 0o777);
  const conf = join(dir, 'ganesha.conf');
  writeFileSync(
    conf,
    `NFS_CORE_PARAM { Protocols = 3; Bind_addr = 127.0.0.1; NFS_Port = ${nfsPort}; MNT_Port = ${mountPort};
  NLM_Port = ${nlmPort}; Enable_NLM = true; Enable_RQUOTA = false; Enable_UDP = false;
  mount_path_pseudo = false; Plugins_Dir = /usr/lib/x86_64-linux-gnu/ganesha; }
NFS_KRB5 { Active_krb5 = false; }
NFSV4 { Graceless = true; }
LOG { Default_Log_Level = EVENT; }
EXPORT { Export_Id = 1; Path = ${exportDir}; Pseudo = /export; Protocols = 3;
  Transports = TCP; Access_Type = RW; Squash = No_Root_Squash; SecType = sys; FSAL { Name = VFS; } }
`,
  );
  const log = join(dir, 'ganesha.log');
  const ganesha = spawn('ganesha.nfsd', ['-F', '-f', conf, '-L', log, '-p', join(dir, 'ganesha.pid')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(ganesha);
  await waitForNfs(nfsPort, 'ganesha.nfsd', ganesha).catch((e: Error) => {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
    throw new Error(`${e.message}\n${tail}`);
  });
  return {
    // The export path is the real directory; libnfs mounts it by that path (mount_path_pseudo = false).
    url: (path) =>
      `nfs://127.0.0.1${path.replace(/^\/export/, exportDir)}?nfsport=${nfsPort}&mountport=${mountPort}&version=3`,
    stop: async () => {
      await stop(ganesha);
      rmSync(exportDir, { recursive: true, force: true });
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  for (const tool of ['nfs-cp', 'nfs-cat', 'rpcinfo', 'gcc']) {
    if (!which(tool)) throw new Error(`${tool} is missing (see /work/shared/PEERS.md for the packages)`);
  }
  const harness = join(base, 'harness');
  run('gcc', ['-O2', '-o', harness, HARNESS_SOURCE, '-lnfs', '-lpthread']);
  const local = join(base, 'big.bin');
  run('dd', [
    'if=/dev/urandom',
    `of=${local}`,
    `bs=${MiB}`,
    `count=${Math.ceil(BYTES / MiB)}`,
    'status=none',
  ]);

  // rpcbind first (ganesha needs it; rpcinfo, which tells when a server is up, too), then the
  // gateway: it registers its programs with rpcbind, and one that found ganesha's
  // registrations in place was refused its mounts.
  const haveGanesha = which('ganesha.nfsd');
  if (haveGanesha && !(await listening(111))) {
    if (!which('rpcbind')) throw new Error('rpcbind is missing (ganesha needs it)');
    const rpcbind = spawn('rpcbind', ['-f', '-w'], { stdio: 'ignore' });
    children.push(rpcbind);
    for (let i = 0; i < 50 && !(await listening(111)); i++) await new Promise((r) => setTimeout(r, 100));
  }
  const gateway = await startGateway();
  let ganesha: Server | undefined;
  let peerProblem = '';
  if (!haveGanesha) {
    peerProblem = 'ganesha.nfsd is not installed';
  } else {
    try {
      ganesha = await startGanesha();
    } catch (e) {
      peerProblem = (e as Error).message;
    }
  }
  const sides = ganesha ? [gateway, ganesha] : [gateway];
  for (const s of sides) warmUp(s, local);
  const runs = new Map<Server, Array<{ writeMiBs: number; readMiBs: number }>>(sides.map((s) => [s, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each server goes first in every other round: on this VM the second transfer of a round
    // can run at twice the speed of the first (page-cache memory the first one got back).
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    const each: string[] = [];
    for (const s of order) {
      const r = transfer(s, local, `big-${round}.bin`);
      runs.get(s)!.push(r);
      each.push(
        `${s === gateway ? 'gateway' : 'ganesha'} write ${r.writeMiBs.toFixed(0)} read ${r.readMiBs.toFixed(0)}`,
      );
    }
    // The rounds behind the medians, on stderr (as the S3 and SMB suites print theirs).
    process.stderr.write(`  round ${round + 1}, MiB/s: ${each.join(' | ')}\n`);
  }
  // The one-session workloads alternate too — the gateway, ganesha and a gateway answering
  // metadata changes before they are on disk (`durability.metadata: async`, ganesha's own
  // semantics), each first in turn — and each row is the median of its rounds: one run of a
  // few seconds moves by a fifth with the VM.
  const asyncGateway = await startGateway('durability: { metadata: async }', 'gateway-async');
  const oneSession = [...sides, asyncGateway];
  const names = new Map<Server, string>([
    [gateway, 'gateway'],
    [asyncGateway, 'gateway (async)'],
  ]);
  for (const s of oneSession) sessionRate(s, harness, 'files', '/warm-up');
  const metadataRuns = new Map<Server, Array<Pick<Figures, 'filesPerSec' | 'dirOpsPerSec'>>>(
    oneSession.map((s) => [s, []]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    const order = [
      ...oneSession.slice(round % oneSession.length),
      ...oneSession.slice(0, round % oneSession.length),
    ];
    const each: string[] = [];
    for (const s of order) {
      const m = metadataRound(s, harness, round);
      metadataRuns.get(s)!.push(m);
      each.push(
        `${names.get(s) ?? 'ganesha'} ${m.filesPerSec.toFixed(0)} files/s ${m.dirOpsPerSec.toFixed(0)} dir ops/s`,
      );
    }
    process.stderr.write(`  one session, round ${round + 1}: ${each.join(' | ')}\n`);
  }
  await asyncGateway.stop();
  const metadata = new Map(
    oneSession.map((s) => [
      s,
      {
        filesPerSec: median(metadataRuns.get(s)!.map((m) => m.filesPerSec)),
        dirOpsPerSec: median(metadataRuns.get(s)!.map((m) => m.dirOpsPerSec)),
      },
    ]),
  );
  // GETATTR alternates too, and each row is the median of its rounds: a 5-s run's p99 varies by
  // a third from one run to the next on this VM.
  const getattrs = new Map<Server, Array<{ rate: number; p99Ms: number }>>(sides.map((s) => [s, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    const each: string[] = [];
    for (const s of order) {
      const g = getattrRun(s, harness);
      getattrs.get(s)!.push(g);
      each.push(
        `${s === gateway ? 'gateway' : 'ganesha'} ${g.rate.toFixed(0)} calls/s p99 ${g.p99Ms.toFixed(2)} ms`,
      );
    }
    process.stderr.write(`  GETATTR round ${round + 1}: ${each.join(' | ')}\n`);
  }
  const listings = new Map<Server, number[]>(sides.map((s) => [s, []]));
  for (const s of sides) run(harness, [s.url('/export'), 'list', '/files-0', String(LIST_WARMUP)]);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    const each: string[] = [];
    for (const s of order) {
      const out = harnessFields(run(harness, [s.url('/export'), 'list', '/files-0', String(LIST_TIMES)]));
      if (Number(out.count) !== FILES) throw new Error(`listed ${out.count} of ${FILES} entries`);
      const rate = Number(out.entries_per_sec);
      listings.get(s)!.push(rate);
      each.push(`${s === gateway ? 'gateway' : 'ganesha'} ${rate.toFixed(0)} entries/s`);
    }
    process.stderr.write(`  READDIRPLUS round ${round + 1}: ${each.join(' | ')}\n`);
  }
  const figures = (s: Server): Figures => ({
    writeMiBs: median(runs.get(s)!.map((r) => r.writeMiBs)),
    readMiBs: median(runs.get(s)!.map((r) => r.readMiBs)),
    ...metadata.get(s)!,
    getattrRate: median(getattrs.get(s)!.map((g) => g.rate)),
    getattrP99Ms: median(getattrs.get(s)!.map((g) => g.p99Ms)),
    listEntriesPerSec: median(listings.get(s)!),
  });
  const gw = figures(gateway);
  const peer = ganesha ? figures(ganesha) : undefined;
  await gateway.stop();
  await ganesha?.stop();
  const { filesPerSec: asyncFilesPerSec, dirOpsPerSec: asyncDirOpsPerSec } = metadata.get(asyncGateway)!;

  const size = BYTES >= 1024 * MiB ? `${BYTES / (1024 * MiB)} GiB` : `${BYTES / MiB} MiB`;
  const ratio = (ours: number, theirs: number | undefined) => theirs === undefined || ours >= theirs;
  const rows: BenchRow[] = [
    {
      workload: `write ${size} (nfs-cp), median of ${ROUNDS}`,
      gateway: gw.writeMiBs,
      unit: 'MiB/s',
      peer: peer?.writeMiBs,
      peerName: 'ganesha',
      target: '≥ 1.0× ganesha',
      met: ratio(gw.writeMiBs, peer?.writeMiBs),
    },
    {
      workload: `read ${size} (nfs-cat), median of ${ROUNDS}`,
      gateway: gw.readMiBs,
      unit: 'MiB/s',
      peer: peer?.readMiBs,
      peerName: 'ganesha',
      target: '≥ 1.0× ganesha',
      met: ratio(gw.readMiBs, peer?.readMiBs),
    },
    {
      workload: `create+write 4 KiB+close, 1 session, median of ${ROUNDS}`,
      gateway: gw.filesPerSec,
      unit: 'files/s',
      peer: peer?.filesPerSec,
      peerName: 'ganesha',
      target: '≥ 1.0× ganesha',
      met: ratio(gw.filesPerSec, peer?.filesPerSec),
    },
    {
      workload: 'the same, durability.metadata: async',
      gateway: asyncFilesPerSec,
      unit: 'files/s',
      peer: peer?.filesPerSec,
      peerName: 'ganesha',
      target: '≥ 1.0× ganesha',
      met: ratio(asyncFilesPerSec, peer?.filesPerSec),
    },
    {
      workload: `mkdir+rename+rmdir, 1 session, median of ${ROUNDS}`,
      gateway: gw.dirOpsPerSec,
      unit: 'ops/s',
      peer: peer?.dirOpsPerSec,
      peerName: 'ganesha',
      target: '(info)',
      met: true,
    },
    {
      workload: 'the same, durability.metadata: async',
      gateway: asyncDirOpsPerSec,
      unit: 'ops/s',
      peer: peer?.dirOpsPerSec,
      peerName: 'ganesha',
      target: '(info)',
      met: true,
    },
    {
      workload: `GETATTR, ${SESSIONS} sessions (1 client thread), median of ${ROUNDS}`,
      gateway: gw.getattrRate,
      unit: 'calls/s',
      peer: peer?.getattrRate,
      peerName: 'ganesha',
      target: '≥ 1.0× ganesha',
      met: ratio(gw.getattrRate, peer?.getattrRate),
    },
    {
      workload: `GETATTR p99, ${SESSIONS} sessions (1 client thread), median of ${ROUNDS}`,
      gateway: gw.getattrP99Ms,
      unit: 'ms',
      peer: peer?.getattrP99Ms,
      peerName: 'ganesha',
      target: '≤ 1 ms',
      met: gw.getattrP99Ms <= 1,
    },
    {
      workload: `READDIRPLUS of a ${FILES}-entry directory, 1 session, median of ${ROUNDS}`,
      gateway: gw.listEntriesPerSec,
      unit: 'entries/s',
      peer: peer?.listEntriesPerSec,
      peerName: 'ganesha',
      target: '(info)',
      met: true,
    },
  ];
  printTable('NFSv3 server (gateway process vs nfs-ganesha 4.3 VFS; libnfs clients on 127.0.0.1)', rows);
  if (!peer) console.log(`\nno ganesha figures: ${peerProblem}`);
  const outDir = new URL('../../../bench-output/', import.meta.url).pathname;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'nfs.json'), `${JSON.stringify(rows, null, 2)}\n`);
} finally {
  for (const ch of children.reverse()) await stop(ch);
  rmSync(base, { recursive: true, force: true });
}
