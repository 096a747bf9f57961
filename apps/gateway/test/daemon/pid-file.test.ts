/**
 * `<state_dir>/gateway.pid` outlives its gateway after a crash, and after a reboot its PID can
 * name any program: only a live gateway blocks a start (the refusal for one is start.test.ts's
 * test 3). Of gateways starting at the same moment on one state folder, exactly one claims it.
 */
import { equal, match, ok, throws } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { claimPidFile, pidFilePath, runningGatewayPid } from '../../src/daemon/pid-file.ts';
import { StartError } from '../../src/daemon/start-error.ts';
import { capturedLog } from '../support/log.ts';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const PID_FILE_MODULE = fileURLToPath(new URL('../../src/daemon/pid-file.ts', import.meta.url));

/** A live process that is not a gateway: what a reused PID names after a reboot. */
function notAGateway(): ProcessHandle {
  return spawnProcess('sleep', ['1000'], { name: 'sleep' });
}

/** The PID of a process that has exited. */
function goneProcessPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
}

describe('./cfs gateway start with a stale gateway.pid', () => {
  test('1 a PID file naming a live process that is no gateway: the gateway starts, says it replaced the file, and holds it', async () => {
    const dir = makeTempDir('stale-pid');
    const [nfs, mount, s3, smb, health] = (await freePorts(5)) as number[];
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `node: { name: gw-stale-pid, state_dir: ${dir}/state }
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [{ path: /export }] }
s3: { bind: 127.0.0.1:${s3}, root: /export }
smb: { bind: 127.0.0.1:${smb}, shares: [{ name: export, path: /export }] }
health: { bind: 127.0.0.1:${health}, probe_interval: 1h }
`,
    );
    const sleeper = notAGateway();
    const state = join(dir, 'state');
    claimPidFile(state)(); // the state folder, as a gateway that ran before leaves it
    writeFileSync(pidFilePath(state), `${sleeper.pid}\n`);
    const gw = spawnProcess(CFS, ['gateway', 'start', '--config', file], { name: 'gateway' });
    try {
      const first = await gw.waitForLine(/gateway started|failed to start/, 60_000);
      match(first[0], /gateway started/, gw.output().slice(-2000));
      match(
        gw.stdout(),
        new RegExp(
          `replacing stale .*gateway\\.pid: PID ${sleeper.pid} is not a gateway but \\\\"sleep\\\\"`,
        ),
      );
      equal(readFileSync(pidFilePath(state), 'utf8').trim(), String(gw.pid));
    } finally {
      await gw.stop(30_000);
      await sleeper.stop();
    }
  });
});

describe('claimPidFile', () => {
  test('2 a file naming a live program that is no gateway: not a running gateway; replaced, with a warning naming the program', async () => {
    const state = join(makeTempDir('pid-other'), 'state');
    const sleeper = notAGateway();
    try {
      claimPidFile(state)();
      writeFileSync(pidFilePath(state), `${sleeper.pid}\n`);
      equal(runningGatewayPid(state), undefined);
      const { log, lines } = capturedLog();
      const release = claimPidFile(state, log);
      equal(readFileSync(pidFilePath(state), 'utf8'), `${process.pid}\n`);
      equal(runningGatewayPid(state), process.pid);
      ok(
        lines.some(
          (l) => /"level":40/.test(l) && l.includes(`PID ${sleeper.pid} is not a gateway but \\"sleep\\"`),
        ),
        lines.join(''),
      );
      release();
      equal(runningGatewayPid(state), undefined);
    } finally {
      await sleeper.stop();
    }
  });

  test('3 a file naming a process that has exited, or no PID at all: replaced, said at info', () => {
    const state = join(makeTempDir('pid-gone'), 'state');
    claimPidFile(state)();
    const gone = goneProcessPid();
    writeFileSync(pidFilePath(state), `${gone}\n`);
    const { log, lines } = capturedLog();
    claimPidFile(state, log)();
    ok(
      lines.some((l) => l.includes(`PID ${gone} is not running`)),
      lines.join(''),
    );
    writeFileSync(pidFilePath(state), '');
    claimPidFile(state, log);
    ok(
      lines.some((l) => l.includes('it names no PID')),
      lines.join(''),
    );
    equal(readFileSync(pidFilePath(state), 'utf8'), `${process.pid}\n`);
  });

  test('4 a file naming another live Node process (a gateway run inside a program) refuses the start', async () => {
    const state = join(makeTempDir('pid-node'), 'state');
    const other = spawnProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { name: 'node' });
    try {
      claimPidFile(state)();
      writeFileSync(pidFilePath(state), `${other.pid}\n`);
      throws(
        () => claimPidFile(state),
        (e: unknown) =>
          e instanceof StartError && e.message.includes(`another gateway (PID ${other.pid}) is running`),
      );
      equal(readFileSync(pidFilePath(state), 'utf8'), `${other.pid}\n`, 'the file is left alone');
    } finally {
      await other.stop();
    }
  });

  test('5 gateways claiming state folders at the same moment, empty or with a stale file: each folder is claimed by exactly one, the others refuse naming it', async () => {
    const dir = makeTempDir('pid-race');
    const go = join(dir, 'go');
    const child = join(dir, 'claim.mjs');
    // Each waits, spinning, for the go file, then claims the same folders in the same order
    // (many of them, so the claimers overlap on the CPUs), staying alive to hold its claims.
    writeFileSync(
      child,
      `import { existsSync } from 'node:fs';
import { join } from 'node:path';
const { claimPidFile } = await import(${JSON.stringify(PID_FILE_MODULE)});
const [dir, go, count] = process.argv.slice(2);
console.log('ready');
while (!existsSync(go)) {}
const outcomes = [];
for (let i = 0; i < Number(count); i++) {
  try {
    claimPidFile(join(dir, 'state-' + i));
    outcomes.push('claimed');
  } catch (e) {
    outcomes.push(e.message);
  }
}
console.log('done ' + JSON.stringify(outcomes));
setInterval(() => {}, 1000);
`,
    );
    const folders = 200;
    // Half the folders hold a stale file (its gateway gone): the claimers race to replace it.
    const gone = goneProcessPid();
    for (let i = 0; i < folders; i += 2) {
      const state = join(dir, `state-${i}`);
      claimPidFile(state)();
      writeFileSync(pidFilePath(state), `${gone}\n`);
    }
    const claimers = Array.from({ length: 4 }, (_, i) =>
      spawnProcess(process.execPath, ['--import', 'tsx', child, dir, go, String(folders)], {
        name: `claimer ${i}`,
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
      }),
    );
    try {
      await Promise.all(claimers.map((c) => c.waitForLine(/^ready$/, 60_000)));
      writeFileSync(go, '');
      const outcomes = await Promise.all(
        claimers.map(async (c) => JSON.parse((await c.waitForLine(/^done (.*)$/, 60_000))[1]!) as string[]),
      );
      const doubled: number[] = [];
      for (let i = 0; i < folders; i++) {
        const winners = claimers.filter((_, c) => outcomes[c]![i] === 'claimed');
        if (winners.length !== 1) {
          doubled.push(i);
          continue;
        }
        const winner = winners[0]!;
        equal(readFileSync(pidFilePath(join(dir, `state-${i}`)), 'utf8'), `${winner.pid}\n`);
        for (const [c, o] of outcomes.entries()) {
          if (claimers[c] !== winner) match(o[i]!, new RegExp(`^another gateway \\(PID ${winner.pid}\\)`));
        }
      }
      equal(doubled.length, 0, `folders claimed by more or fewer than one gateway: ${doubled.join(' ')}`);
    } finally {
      await Promise.all(claimers.map((c) => c.stop()));
    }
  });
});
