import { deepEqual, equal, match, notEqual, ok } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { getJson } from '../support/http.ts';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

interface Ports {
  file: string;
  nfs: number;
  mount: number;
  s3: number;
  smb: number;
  health: number;
}

async function writeConfig(dir: string, logLevel = 'info'): Promise<Ports> {
  const [nfs, mount, s3, smb, health] = (await freePorts(5)) as [number, number, number, number, number];
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { name: gw-test, state_dir: ${dir}/state }
log_level: ${logLevel}
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [{ path: /export }] }
s3: { bind: 127.0.0.1:${s3}, root: /export }
smb: { bind: 127.0.0.1:${smb}, shares: [{ name: export, path: /export }] }
health: { bind: 127.0.0.1:${health}, probe_interval: 200ms }
`,
  );
  return { file, nfs, mount, s3, smb, health };
}

/** A connection to `port` that stays open, idle, until the server ends it. */
function idleConnection(port: number): Promise<{ ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.resume();
      resolve({ ended: new Promise((r) => socket.once('close', () => r())) });
    });
    socket.once('error', reject);
  });
}

/** An HTTP GET over a keep-alive agent: the connection stays open, idle, after the answer. */
function keptAlive(url: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      })
      .once('error', reject);
  });
}

describe('./cfs gateway start', () => {
  let dir: string;
  let cfg: Ports;
  let gw: ProcessHandle;
  before(async () => {
    dir = makeTempDir('daemon');
    cfg = await writeConfig(dir);
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', cfg.file], { name: 'gateway' });
    await gw.waitForLine(/gateway started/, 60_000);
  });
  after(() => gw.stop());

  test('1 prints where each listener is and serves /health in the runbook format', async () => {
    match(gw.stdout(), new RegExp(`health listening on 127\\.0\\.0\\.1:${cfg.health}`));
    const h = await getJson<{ overall: string; checks: Array<Record<string, unknown>>; timestamp: number }>(
      `http://127.0.0.1:${cfg.health}/health`,
    );
    // A shared, loaded machine can make a probe slow (degraded); never unhealthy.
    ok(h.overall === 'healthy' || h.overall === 'degraded', JSON.stringify(h));
    const names = h.checks.map((c) => c.name);
    deepEqual(names.slice(0, 3), ['metadata', 'transport', 'gateway']);
    // Then one check per protocol server this build runs.
    for (const n of names.slice(3)) ok(['nfs', 's3', 'smb'].includes(String(n)), String(n));
    for (const c of h.checks) {
      deepEqual(Object.keys(c), ['name', 'status', 'message', 'duration_ms']);
      ok(
        c.status === 'healthy' || (c.status === 'degraded' && String(c.message).startsWith('slow probe')),
        JSON.stringify(c),
      );
      equal(typeof c.duration_ms, 'number');
    }
    ok(Math.abs(h.timestamp - Date.now() / 1000) < 60);
  });

  test('2 the PID is the one ./cfs started (exec), written to the state folder, titled claudefs-gateway', () => {
    equal(readFileSync(join(dir, 'state', 'gateway.pid'), 'utf8').trim(), String(gw.pid));
    const args = execFileSync('ps', ['-o', 'args=', '-p', String(gw.pid)]).toString();
    match(args, /claudefs-gateway/);
  });

  test('3 a second gateway on the same state folder refuses to start', async () => {
    const second = await runCommand(CFS, ['gateway', 'start', '--config', cfg.file], { timeoutMs: 60_000 });
    equal(second.code, 1);
    match(second.output, new RegExp(`gateway failed to start: another gateway \\(PID ${gw.pid}\\)`));
    // The reason, not a stack trace that buries it; on stderr too, for a terminal.
    ok(!/\n\s+at /.test(second.output) && !/"stack"/.test(second.output), second.output);
    match(second.stderr, new RegExp(`^gateway failed to start: another gateway \\(PID ${gw.pid}\\)`, 'm'));
  });

  test('3b a port another process holds: stderr names the key, the address and the file', async () => {
    const other = join(dir, 'clash.yaml');
    writeFileSync(other, readFileSync(cfg.file, 'utf8').replace(`${dir}/state`, `${dir}/clash-state`));
    const r = await runCommand(CFS, ['gateway', 'start', '--config', other], { timeoutMs: 60_000 });
    equal(r.code, 1, r.output);
    match(
      r.stderr,
      new RegExp(
        `gateway failed to start: (nfs\\.bind|nfs\\.mount_bind|s3\\.bind|smb\\.bind|health\\.bind) 127\\.0\\.0\\.1:\\d+ \\(${other}\\): the port is in use`,
      ),
    );
  });

  test("3c a second gateway with a state folder of its own, pointed at the first one's meta.db or data folder, refuses to start", async () => {
    const base = readFileSync(cfg.file, 'utf8').replace(`${dir}/state`, `${dir}/second-state`);
    for (const [name, yaml, folder] of [
      [
        'shared-db',
        `metadata: { url: "sqlite://${dir}/state/meta.db" }`,
        `the metadata database folder ${dir}/state`,
      ],
      ['shared-data', `transport: { url: "file://${dir}/state/data" }`, `the data folder ${dir}/state/data`],
    ] as const) {
      const other = join(dir, `${name}.yaml`);
      writeFileSync(other, `${base}\n${yaml}\n`);
      const r = await runCommand(CFS, ['gateway', 'start', '--config', other], { timeoutMs: 60_000 });
      equal(r.code, 1, r.output);
      match(r.stderr, new RegExp(`another gateway \\(PID ${gw.pid}\\) is running on ${folder}\\n`));
    }
  });

  test('4 SIGHUP reloads the log level from the file', async () => {
    writeFileSync(cfg.file, readFileSync(cfg.file, 'utf8').replace('log_level: info', 'log_level: debug'));
    process.kill(gw.pid, 'SIGHUP');
    await gw.waitForLine(
      /"logLevel":"debug".*configuration reloaded|configuration reloaded.*"logLevel":"debug"/,
      10_000,
    );
  });

  test('4b validate-config beside it: the ports its own gateway holds are no warning; the same ports in another state folder are', async () => {
    const own = await runCommand(CFS, ['gateway', 'validate-config', '--config', cfg.file], {
      timeoutMs: 60_000,
    });
    equal(own.code, 0, own.output);
    match(own.stdout, /configuration valid/);
    ok(!/already in use/.test(own.output), own.output);

    const other = join(dir, 'other.yaml');
    writeFileSync(other, readFileSync(cfg.file, 'utf8').replace(`${dir}/state`, `${dir}/other-state`));
    const r = await runCommand(CFS, ['gateway', 'validate-config', '--config', other], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.output, new RegExp(`health\\.bind: warning: port ${cfg.health} is already in use on this host`));
  });

  test('5 SIGTERM stops it cleanly with idle clients on every listener: exit 0, PID file gone, /export created with mode 1777', async () => {
    // Idle clients must not hold the stop up: an S3 and a console-like keep-alive connection
    // after one answer each, and TCP connections to NFS, MOUNT, SMB and S3 that never send.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    equal(await keptAlive(`http://127.0.0.1:${cfg.s3}/`, agent), 403, 'anonymous S3 ListBuckets is refused');
    const healthAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await keptAlive(`http://127.0.0.1:${cfg.health}/health`, healthAgent);
    const idle = await Promise.all([cfg.nfs, cfg.mount, cfg.smb, cfg.s3].map(idleConnection));
    // A generous grace before SIGKILL: this is about ending at all, not about speed.
    const status = await gw.stop(30_000);
    equal(status.code, 0, gw.output().slice(-2000));
    match(gw.stdout(), /gateway stopped/);
    await Promise.all(idle.map((c) => c.ended));
    agent.destroy();
    healthAgent.destroy();
    ok(!existsSync(join(dir, 'state', 'gateway.pid')));
    const ns = await openNamespace({
      metadataUrl: `sqlite://${dir}/state/meta.db`,
      transportUrl: `file://${dir}/state/data`,
    });
    try {
      const exp = await ns.resolvePath(ROOT, '/export');
      equal(exp.mode, 0o1777);
      equal(exp.uid, 0);
    } finally {
      await ns.close();
    }
  });

  test('6 meta.db gone (its volume not mounted, or removed) beside a state folder that had one: the start refuses rather than serve an empty namespace', async () => {
    const state = join(dir, 'state');
    const urls = { metadataUrl: `sqlite://${state}/meta.db`, transportUrl: `file://${state}/data` };
    const ns = await openNamespace(urls);
    const bytes = Buffer.alloc(100_000, 7);
    try {
      const exp = await ns.resolvePath(ROOT, '/export');
      const f = await ns.create(ROOT, exp.ino, 'kept.bin', 0o644);
      await ns.write(ROOT, f.ino, 0n, bytes);
    } finally {
      await ns.close();
    }
    const away = join(dir, 'away');
    mkdirSync(away);
    for (const name of readdirSync(state).filter((n) => n.startsWith('meta.db')))
      renameSync(join(state, name), join(away, name));
    const start = () => runCommand(CFS, ['gateway', 'start', '--config', cfg.file], { timeoutMs: 60_000 });
    const marked = await start();
    equal(marked.code, 1, marked.output);
    match(
      marked.stderr,
      new RegExp(
        `gateway failed to start: the metadata database ${state}/meta\\.db does not exist, but ${state}/namespace-created says one was there \\(\\d{4}-`,
      ),
    );
    ok(!existsSync(join(state, 'meta.db')), 'no empty database made');
    rmSync(join(state, 'namespace-created'));
    const blobs = await start();
    equal(blobs.code, 1, blobs.output);
    match(blobs.stderr, new RegExp(`but the data folder ${state}/data holds file data`));
    ok(!existsSync(join(state, 'meta.db')));

    for (const name of readdirSync(away)) renameSync(join(away, name), join(state, name));
    const back = await openNamespace(urls);
    try {
      const f = await back.resolvePath(ROOT, '/export/kept.bin');
      ok((await back.read(ROOT, f.ino, 0n, 200_000)).data.equals(bytes), 'the file is whole again');
    } finally {
      await back.close();
    }
    match(readFileSync(join(state, 'namespace-created'), 'utf8'), /^found \d{4}-/, 'marked again');
  });

  test("7 meta.db made readable by others (0644, in a folder an operator made 0755): the start makes it and its WAL the gateway user's alone and says so; another user cannot read a name or a small file's bytes", async () => {
    const state = join(dir, 'state');
    chmodSync(dir, 0o755);
    chmodSync(state, 0o755);
    chmodSync(join(state, 'meta.db'), 0o644);
    const again = spawnProcess(CFS, ['gateway', 'start', '--config', cfg.file], { name: 'gateway' });
    try {
      await again.waitForLine(/gateway started/, 60_000);
      match(
        again.stdout(),
        /meta\.db could be read by other users \(it holds every name and small files' bytes\): made readable by the gateway's user only \(0600\)/,
      );
      equal(statSync(join(state, 'meta.db')).mode & 0o777, 0o600);
      equal(statSync(join(state, 'meta.db-wal')).mode & 0o777, 0o600, 'SQLite gives the WAL the same mode');
      const asNobody = (file: string) =>
        runCommand('runuser', ['-u', 'nobody', '--', 'cat', join(state, file)]);
      equal((await asNobody('namespace-created')).code, 0, 'another user reaches the folder');
      const other = await asNobody('meta.db');
      notEqual(other.code, 0);
      match(other.stderr, /Permission denied/);
    } finally {
      await again.stop();
    }
  });
});

describe('./cfs gateway start refuses bad input and starts nothing', () => {
  const cases: Array<[number, string, (dir: string, file: string) => string[], RegExp]> = [
    [1, 'an invalid config', (_d, f) => ['gateway', 'start', '--config', f], /gateway\.yaml:2:\d+ log_level/],
    [2, 'an unknown protocol', (_d, f) => ['gateway', 'start', 'ftp', '--config', f], /unknown protocol ftp/],
    [3, 'a missing config file', (d) => ['gateway', 'start', '--config', join(d, 'nope.yaml')], /nope\.yaml/],
  ];
  for (const [row, what, args, message] of cases) {
    test(`${row} ${what}: exit 2, a message, no state folder`, async () => {
      const dir = makeTempDir('bad-start');
      const { file } = await writeConfig(dir, 'loud');
      const r = await runCommand(CFS, args(dir, file), { timeoutMs: 60_000 });
      equal(r.code, 2, r.output);
      match(r.stderr, message);
      ok(!existsSync(join(dir, 'state', 'gateway.pid')));
      ok(!existsSync(join(dir, 'state', 'meta.db')));
    });
  }
});

test('./cfs works through a symlink from another folder (ln -s "$PWD/cfs" /usr/local/bin/cfs)', async () => {
  const dir = makeTempDir('cfs-link');
  const link = join(dir, 'cfs');
  symlinkSync(CFS, link);
  const example = fileURLToPath(new URL('../../../../config/gateway.example.yaml', import.meta.url));
  const r = await runCommand(link, ['gateway', 'validate-config', '--no-port-check', '--config', example], {
    cwd: dir,
  });
  equal(r.code, 0, r.output);
  match(r.stdout, /configuration valid/);
});

/** Whether the process has a handler for SIGHUP (bit 0 of SigCgt in /proc/PID/status). */
function catchesSighup(pid: number): boolean {
  try {
    const line = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return line ? (BigInt(`0x${line[1]}`) & 1n) === 1n : false;
  } catch {
    return false;
  }
}

test('a SIGHUP while the gateway is still starting (systemctl reload right after start) is carried out once it serves, not fatal', async () => {
  const dir = makeTempDir('hup-at-start');
  const cfg = await writeConfig(dir);
  const gw = spawnProcess(CFS, ['gateway', 'start', '--config', cfg.file], { name: 'gateway' });
  try {
    // ./cfs holds SIGHUP from its first moment; wait until the process catches it at all.
    const deadline = Date.now() + 30_000;
    while (!catchesSighup(gw.pid)) {
      ok(Date.now() < deadline, 'the process never took SIGHUP over');
      await new Promise((r) => setTimeout(r, 2));
    }
    writeFileSync(cfg.file, readFileSync(cfg.file, 'utf8').replace('log_level: info', 'log_level: debug'));
    const early = !/gateway started/.test(gw.stdout());
    process.kill(gw.pid, 'SIGHUP');
    await gw.waitForLine(/gateway started/, 60_000);
    await gw.waitForLine(
      /"logLevel":"debug".*configuration reloaded|configuration reloaded.*"logLevel":"debug"/,
      30_000,
    );
    if (early)
      match(
        gw.stdout(),
        /reload requested while the gateway is starting; it runs once the gateway has started/,
      );
    ok(!/reload refused/.test(gw.stdout()), gw.stdout().slice(-2000));
    const h = await getJson<{ overall: string }>(`http://127.0.0.1:${cfg.health}/health`);
    ok(h.overall !== 'unhealthy', JSON.stringify(h));
  } finally {
    const status = await gw.stop(30_000);
    equal(status.code, 0, gw.output().slice(-2000));
  }
});
