/**
 * A gateway that is alive and answers nothing — the runbook's "Gateway Unresponsive". Its event
 * loop is held: by SIGSTOP (a debugger, a forgotten `kill -STOP`), or waiting on a metadata disk
 * that has stopped answering (a real ext4 file system frozen with `fsfreeze` under the state
 * folder, where meta.db and its WAL live). What the operator must get is the cause, from the
 * tools they reach for: the log says what the main thread waits in and on which disk (the loop
 * watchdog's own thread writes it), `./cfs diagnose unresponsive` and any other command say the
 * same and what to do about it (a restart cannot end a process waiting on a disk). Once the
 * disk answers, the gateway goes on by itself and what it was writing is kept.
 */
import { equal, match, ok } from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DiagnosticRun } from '../../src/ops/diagnostics/api.ts';
import { readThread } from '../../src/util/thread-state.mjs';
import { CFS, writeGatewayConfig } from '../quota/fixture.ts';
import { freeze, mountExt4, thaw } from '../support/loop-fs.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { waitFor } from '../support/wait.ts';

const TOOLS = requireTools('nfs-cp', 'nfs-cat');

/** A gateway process on `file`, and the ports it serves NFS, MOUNT and /health on. */
async function startGateway(
  file: string,
): Promise<{ gw: ProcessHandle; ports: { nfs: number; mount: number; health: number } }> {
  const yaml = readFileSync(file, 'utf8');
  const port = (re: RegExp) => Number(yaml.match(re)![1]);
  const ports = {
    nfs: port(/nfs: \{ bind: 127\.0\.0\.1:(\d+)/),
    mount: port(/mount_bind: 127\.0\.0\.1:(\d+)/),
    health: port(/health: \{ bind: 127\.0\.0\.1:(\d+)/),
  };
  const gw = spawnProcess(CFS, ['gateway', 'start', '--config', file], {
    name: 'gateway',
    env: { CFS_ADMIN_PASSWORD: 'stuck-admin-password-1' },
  });
  await gw.waitForLine(/gateway started/, 60_000);
  return { gw, ports };
}

/** libnfs's URL of a file in /export of the gateway on `ports`, as root. */
function nfsUrl(ports: { nfs: number; mount: number }, name: string): string {
  return `nfs://127.0.0.1/export/${name}?nfsport=${ports.nfs}&mountport=${ports.mount}&uid=0&gid=0`;
}

describe('a gateway that answers nothing: stopped, or waiting on a frozen metadata disk', () => {
  let dir: string;
  let disk: string | undefined;
  let file: string;
  let gw: ProcessHandle;
  let ports: { nfs: number; mount: number; health: number };

  before(async () => {
    if (TOOLS.skip) return;
    dir = makeTempDir('stuck');
    disk = mountExt4(join(dir, 'meta-fs'), '64M');
    // Without root there is no disk to freeze; the state folder is an ordinary one for test 1.
    const state = join(disk ?? dir, 'state');
    file = await writeGatewayConfig(dir);
    writeFileSync(file, readFileSync(file, 'utf8').replace(`state_dir: ${dir}/state`, `state_dir: ${state}`));
    ({ gw, ports } = await startGateway(file));
  });
  after(async () => {
    if (disk) thaw(disk);
    if (gw) {
      process.kill(gw.pid, 'SIGCONT');
      await gw.stop();
    }
  });

  const url = (name: string) => nfsUrl(ports, name);
  const health = async () => {
    const r = await fetch(`http://127.0.0.1:${ports.health}/health`, { signal: AbortSignal.timeout(2000) });
    return r.status;
  };

  test('1 stopped (SIGSTOP): diagnose and the other commands say it is stopped and that SIGCONT lets it run', async (t) => {
    if (TOOLS.skip) return t.skip(TOOLS.skip);
    process.kill(gw.pid, 'SIGSTOP');
    try {
      await waitFor(() => readThread(gw.pid)?.state === 'T', 'the gateway to stop');
      const d = await runCommand(CFS, ['diagnose', 'unresponsive', '--config', file], { timeoutMs: 60_000 });
      equal(d.code, 1, d.output);
      match(d.stdout, /no answer within 15000 ms\n/);
      match(d.stdout, /^ {10}· its main thread is stopped \(SIGSTOP\): it runs again on SIGCONT$/m);
      match(d.stdout, new RegExp(`^ {10}\\$ kill -CONT ${gw.pid} +# lets it run again$`, 'm'));
      match(d.stdout, /^ {10}note: a restart is not needed: it answers again once it runs$/m);
      match(
        d.stdout,
        new RegExp(
          `^conclusion: FAIL — the gateway \\(PID ${gw.pid}\\) is running but does not answer: its main thread is stopped`,
          'm',
        ),
      );
      // Any command that needs the gateway says the same after its own wait.
      const s = await runCommand(CFS, ['smb', 'status', '--config', file], { timeoutMs: 60_000 });
      equal(s.code, 1, s.output);
      match(
        s.stderr,
        new RegExp(
          `no answer within 10000 ms; the gateway \\(PID ${gw.pid}\\) is stuck: its main thread is stopped \\(SIGSTOP\\): it runs again on SIGCONT \\(\\./cfs diagnose unresponsive\\)`,
        ),
      );
    } finally {
      process.kill(gw.pid, 'SIGCONT');
    }
    equal(await health(), 200);
    // A stop of the whole process is not a blocked loop: the watchdog said nothing.
    ok(!/event loop blocked/.test(gw.stdout()), gw.stdout());
  });

  test('2 metadata disk frozen: the log and diagnose name the call, the file and the disk; thawed, the write is answered and kept', async (t) => {
    if (TOOLS.skip) return t.skip(TOOLS.skip);
    if (!disk) return t.skip('needs root to mount an ext4 image on a loop device');
    const mounted = disk;
    const local = join(dir, 'hello.txt');
    writeFileSync(local, 'written while the disk was frozen\n');
    freeze(mounted);
    let cp: ProcessHandle | undefined;
    try {
      // An NFS create commits to meta.db: the event loop waits on the frozen disk.
      cp = spawnProcess('nfs-cp', [local, url('hello.txt')], { name: 'nfs-cp' });
      const [line] = await gw.waitForLine(/^\{.*"msg":"event loop blocked for 10 s.*\}$/, 60_000);
      const report = JSON.parse(line!) as {
        level: number;
        msg: string;
        mainThread: { state: string; file?: string };
      };
      equal(report.level, 50);
      equal(report.mainThread.state, 'D');
      const inState = `${mounted}/state/meta\\.db\\S*`;
      match(
        report.msg,
        new RegExp(
          `^event loop blocked for 10 s: the main thread waits in the kernel, uninterruptible, (in \\w+ on ${inState} \\(ext4 file system ${mounted}, /dev/loop\\d+\\): the disk or network file system under it is not answering|outside a system call \\(a page fault on a memory-mapped file\\): the disk under that file is not answering); NFS, S3, SMB, /health and \\./cfs wait until it ends \\(\\./cfs diagnose unresponsive\\)$`,
        ),
      );

      const d = await runCommand(CFS, ['diagnose', 'unresponsive', '--config', file], { timeoutMs: 60_000 });
      equal(d.code, 1, d.output);
      match(d.stdout, /^ {10}· its main thread waits in the kernel, uninterruptible/m);
      match(d.stdout, /^ {10}\$ dmesg \| tail -20 +# what the kernel says of the disk/m);
      if (report.mainThread.file) {
        match(d.stdout, new RegExp(`^ {10}\\$ fsfreeze --unfreeze ${mounted} +# only if it was frozen`, 'm'));
      }
      match(
        d.stdout,
        /^ {10}note: a restart may not end it before the disk answers: a process waiting on a disk can ignore every signal, SIGKILL too/m,
      );
      equal(cp.stdout(), '', 'nfs-cp has had no answer');
    } finally {
      thaw(mounted);
    }
    const done = await cp.exited;
    equal(done.code, 0, cp.output());
    await gw.waitForLine(/event loop stood still for \d+\.\d s/, 30_000);
    equal(await health(), 200);
    const back = await runCommand('nfs-cat', [url('hello.txt')], { timeoutMs: 60_000 });
    equal(back.stdout, 'written while the disk was frozen\n');
  });
});

/**
 * Only the data folder's disk hangs (a frozen ext4 under it; meta.db elsewhere): the event loop
 * runs, but the libuv pool's threads wait in writes there. The admin API must still answer —
 * the operator's drain, status and diagnosis are what they need most then — and nothing may
 * call the gateway stuck.
 */
describe('a gateway whose data disk hangs (a frozen ext4 under the data folder only)', () => {
  let dir: string;
  let disk: string | undefined;
  let file: string;
  let gw: ProcessHandle;
  let ports: { nfs: number; mount: number; health: number };

  before(async () => {
    if (TOOLS.skip) return;
    dir = makeTempDir('stuck-data');
    disk = mountExt4(join(dir, 'data-fs'), '64M');
    if (!disk) return;
    file = await writeGatewayConfig(dir, `transport: { url: "file://${disk}/data" }`);
    ({ gw, ports } = await startGateway(file));
  });
  after(async () => {
    if (disk) thaw(disk);
    await gw?.stop();
  });

  test('1 writes wait on the frozen data disk and hold the pool: drain and diagnose still answer, and nothing calls the gateway stuck; thawed, what was acknowledged is whole', async (t) => {
    if (TOOLS.skip) return t.skip(TOOLS.skip);
    if (!disk) return t.skip('needs root to mount an ext4 image on a loop device');
    const mounted = disk;
    const url = (name: string) => nfsUrl(ports, name);
    const local = join(dir, 'big.bin');
    const body = Buffer.alloc(2 * 1024 * 1024, 5);
    writeFileSync(local, body);
    freeze(mounted);
    const copies: ProcessHandle[] = [];
    try {
      // More writers than the pool has threads: every thread ends up waiting on the disk.
      for (let i = 0; i < 6; i++)
        copies.push(
          spawnProcess('nfs-cp', [local, url(`big-${i}.bin`)], { name: `nfs-cp ${i}`, keepAlive: true }),
        );
      const admin = `http://127.0.0.1:${ports.health}/admin/connections`;
      await waitFor(
        async () => {
          const h = await fetch(`http://127.0.0.1:${ports.health}/health`, {
            signal: AbortSignal.timeout(2000),
          });
          return /transport backend: call not answered after/.test(await h.text());
        },
        'the transport check to name the calls the disk does not answer',
        60_000,
      );
      const drain = await runCommand(CFS, ['gateway', 'drain', '--timeout', '1s', '--config', file], {
        timeoutMs: 60_000,
      });
      match(drain.stdout, /^draining: listeners refuse new connections/m, drain.output);
      const undrain = await runCommand(CFS, ['gateway', 'undrain', '--config', file], { timeoutMs: 60_000 });
      equal(undrain.code, 0, undrain.output);
      const listed = await fetch(admin, { signal: AbortSignal.timeout(10_000) });
      equal(listed.status, 200, 'the admin API answers from loopback while the pool waits');
      const d = await runCommand(CFS, ['diagnose', 'unresponsive', '--config', file], { timeoutMs: 90_000 });
      ok(!/it is stuck/.test(d.stdout), d.stdout);
      ok(!/systemctl restart/.test(d.stdout), d.stdout);
      // The backend diagnosis, run inside the gateway, probes the disk off its event loop.
      const b = await runCommand(CFS, ['diagnose', 'backend', '--json', '--config', file], {
        timeoutMs: 90_000,
      });
      equal(b.code, 1, b.output);
      const run = JSON.parse(b.stdout) as DiagnosticRun;
      const direct = run.steps.find((x) => x.id === 'backend-status');
      equal(direct?.outcome, 'down', b.stdout);
      match(direct!.summary, /transport: .*no answer within 5 s: the file system under .* is not answering/);
      equal(
        (await fetch(`http://127.0.0.1:${ports.health}/health`, { signal: AbortSignal.timeout(2000) }))
          .status,
        503,
      );
    } finally {
      thaw(mounted);
    }
    // Every copy nfs-cp saw acknowledged is whole.
    for (let i = 0; i < copies.length; i++) {
      if ((await copies[i]!.exited).code !== 0) continue;
      const back = await runCommand('nfs-cat', [url(`big-${i}.bin`)], { timeoutMs: 60_000 });
      equal(back.stdout, body.toString(), `big-${i}.bin whole`);
    }
  });
});
