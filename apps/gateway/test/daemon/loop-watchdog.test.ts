/**
 * The loop watchdog and what it reads from /proc (util/thread-state.mjs): when a process's event
 * loop stops turning, a line in its log says for how long and what the main thread waits in —
 * the system call, the file, the file system — so an operator whose gateway answers nothing
 * learns why without a debugger. A real process is held each time: waiting in the kernel on a
 * FIFO, busy on a CPU, stopped by SIGSTOP.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  describeThread,
  longestMount,
  parseStat,
  parseSyscall,
  readThread,
} from '../../src/util/thread-state.mjs';
import { type ProcessHandle, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { waitFor } from '../support/wait.ts';

const CHILD = new URL('./block-loop.ts', import.meta.url).pathname;

function blockLoop(...args: string[]): ProcessHandle {
  return spawnProcess(process.execPath, ['--import', 'tsx', CHILD, ...args], { name: 'block-loop' });
}

/** The watchdog's lines in a child's stdout, parsed. */
function reports(child: ProcessHandle): Array<{
  level: number;
  msg: string;
  blockedMs: number;
  mainThread?: { state: string; syscall?: string; file?: string };
}> {
  return child
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

function fifo(): string {
  const path = join(makeTempDir('watchdog'), 'held fifo');
  execFileSync('mkfifo', [path]);
  return path;
}

/** Opens the FIFO for writing, which lets a reader waiting in open(2) go on; false with no reader. */
function release(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw e;
  }
}

describe('what /proc says of a thread', () => {
  test('1 stat, syscall and mountinfo lines are read as proc(5) writes them', () => {
    // A command name may hold spaces and parentheses; the state follows the last ')'.
    const stat = parseStat('4242 (node (x) y) D 1 4242 4242 0 -1 4194560 10 0 0 0 120 34 0 0 20 0 11 0');
    assert.equal(stat?.state, 'D');
    assert.equal(stat?.stateName, 'uninterruptible');
    assert.equal(stat?.cpuTicks, 154);
    assert.equal(parseSyscall('running', 'x64'), undefined);
    assert.deepEqual(parseSyscall('-1 0x7ffe5020a1d0 0x7f894c7144c7', 'x64'), { number: -1, args: [] });
    const pwrite = parseSyscall(
      '18 0x23 0x7ffe5020a250 0x18 0x2b428 0x0 0xf896539f 0x7ffe5020a1d0 0x7f894c7144c7',
      'x64',
    );
    assert.equal(pwrite?.name, 'pwrite64');
    assert.equal(pwrite?.args[0], 0x23n);
    assert.equal(parseSyscall('68 0x23 0x0 0x0 0x0 0x0 0x0 0x0 0x0', 'arm64')?.name, 'pwrite64');
    const mountinfo = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '40 22 7:0 / /srv/data\\040disk rw,relatime shared:20 - ext4 /dev/loop0 rw',
      '41 22 0:5 / /srv rw - tmpfs tmpfs rw',
    ].join('\n');
    assert.deepEqual(longestMount(mountinfo, '/srv/data disk/state/meta.db-wal'), {
      mountPoint: '/srv/data disk',
      type: 'ext4',
      source: '/dev/loop0',
    });
    assert.equal(longestMount(mountinfo, '/srv/data diskette')?.mountPoint, '/srv');
    assert.equal(longestMount(mountinfo, '/var/lib')?.mountPoint, '/');
    assert.match(
      describeThread({
        state: 'D',
        stateName: 'uninterruptible',
        cpuTicks: 0,
        inSyscall: true,
        syscall: 'pwrite64',
        file: '/srv/data disk/state/meta.db-wal',
        mount: { mountPoint: '/srv/data disk', type: 'ext4', source: '/dev/loop0' },
      }),
      /^waits in the kernel, uninterruptible, in pwrite64 on \/srv\/data disk\/state\/meta\.db-wal \(ext4 file system \/srv\/data disk, \/dev\/loop0\): the disk or network file system under it is not answering$/,
    );
  });

  test('2 a live process waiting in open(2) on a FIFO: the call, the path it was given, its file system', async () => {
    const path = fifo();
    const child = blockLoop('fifo', path);
    try {
      await child.waitForLine(/^holding$/, 30_000);
      await waitFor(() => readThread(child.pid)?.syscall === 'openat', 'the child to wait in openat', 20_000);
      const seen = readThread(child.pid)!;
      assert.equal(seen.state, 'S');
      assert.equal(seen.file, path);
      assert.equal(
        seen.mount?.mountPoint,
        longestMount(readFileSync('/proc/self/mountinfo', 'utf8'), path)?.mountPoint,
      );
      assert.match(describeThread(seen), /^is sleeping in openat on .*held fifo \(\S+ file system /);
    } finally {
      release(path);
      await child.stop();
    }
    assert.equal(readThread(child.pid), undefined, 'a process gone reads as undefined');
  });
});

describe('the loop watchdog', () => {
  test('3 a loop held in the kernel: an error line names the call and the file, then again at 3× the wait, and none once it turns', async () => {
    const path = fifo();
    const child = blockLoop('fifo', path);
    try {
      await child.waitForLine(/^holding$/, 30_000);
      await waitFor(() => reports(child).length >= 2, 'two reports', 20_000);
      const [first, second] = reports(child);
      assert.equal(first!.level, 50);
      assert.match(
        first!.msg,
        /^event loop blocked for \d+ s: the main thread is sleeping in openat on .*held fifo \(.*\); NFS, S3, SMB, \/health and \.\/cfs wait until it ends \(\.\/cfs diagnose unresponsive\)$/,
      );
      assert.equal(first!.mainThread?.file, path);
      assert.match(second!.msg, /^event loop blocked for \d+ s: /);
      assert.ok(second!.blockedMs >= 3000, `${second!.blockedMs}`);
      assert.ok(release(path), 'the child waits on the FIFO');
      await child.waitForLine(/^done$/, 10_000);
      assert.equal((await child.exited).code, 0);
      assert.equal(reports(child).length, 2, child.stdout());
    } finally {
      release(path);
      await child.stop();
    }
  });

  test('4 a loop busy computing: the line says it runs on a CPU, and how much of a core', async () => {
    const child = blockLoop('busy', '3000');
    try {
      await child.waitForLine(/^done$/, 30_000);
      const [first] = reports(child);
      assert.ok(first, child.stdout());
      assert.match(
        first.msg,
        /^event loop blocked for \d+ s: the main thread is running on a CPU \(a long synchronous computation or call\) \(\d+ % of a core over a second\)/,
      );
      assert.equal(first.mainThread?.state, 'R');
    } finally {
      await child.stop();
    }
  });

  test('5 a process stopped whole (SIGSTOP: a VM pause looks the same) is not a blocked loop: no line after SIGCONT', async () => {
    const child = blockLoop('idle', '6000');
    try {
      await child.waitForLine(/^holding$/, 30_000);
      process.kill(child.pid, 'SIGSTOP');
      await waitFor(() => readThread(child.pid)?.state === 'T', 'the child to stop');
      assert.match(
        describeThread(readThread(child.pid)!),
        /^is stopped \(SIGSTOP\): it runs again on SIGCONT$/,
      );
      await new Promise((r) => setTimeout(r, 2500));
      process.kill(child.pid, 'SIGCONT');
      await child.waitForLine(/^done$/, 30_000);
      assert.deepEqual(reports(child), []);
    } finally {
      await child.stop();
    }
  });
});
