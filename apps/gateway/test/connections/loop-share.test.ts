import { deepEqual, equal } from 'node:assert/strict';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import type { Protocol } from '../../src/config/types.ts';
import { LoopShare, MAX_WAIT_MS } from '../../src/ops/loop-share.ts';

/** A share whose loop utilization and request counts the test sets. */
function rig() {
  const starts = new Map<Protocol, number>();
  let utilization = 0;
  const share = new LoopShare(
    () => starts,
    () => ({ utilization, idle: 0, active: 0 }) as EventLoopUtilization,
  );
  return {
    share,
    window(o: { utilization: number; nfs?: number; smb?: number; s3?: number }) {
      utilization = o.utilization;
      for (const p of ['nfs', 'smb', 's3'] as const) starts.set(p, (starts.get(p) ?? 0) + (o[p] ?? 0));
      share.judge();
    },
  };
}

/** Enters n S3 requests; returns which were let in at once and a log of turns given later. */
function enterMany(share: LoopShare, n: number) {
  const turns: number[] = [];
  const now: number[] = [];
  for (let i = 0; i < n; i++) {
    const wait = share.enter();
    if (wait === undefined) now.push(i);
    else void wait.then(() => turns.push(i));
  }
  return { now, turns };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('LoopShare: S3 gives way on a saturated loop when NFS or SMB need it', () => {
  test('1 a loop with room: every S3 request runs at once', () => {
    const { share, window } = rig();
    window({ utilization: 0.5, nfs: 100, s3: 100 });
    deepEqual(enterMany(share, 8).now, [0, 1, 2, 3, 4, 5, 6, 7]);
    equal(share.contended, false);
  });

  test('2 a saturated loop with S3 alone, or with a trickle of NFS and SMB (health probes): S3 is not held back', () => {
    const { share, window } = rig();
    window({ utilization: 0.99, s3: 500 });
    equal(share.contended, false);
    window({ utilization: 0.99, s3: 500, nfs: 2, smb: 1 });
    equal(share.contended, false, 'an RPC NULL, a MOUNT NULL and an SMB NEGOTIATE are no contention');
    equal(enterMany(share, 8).now.length, 8);
  });

  test('3 saturated, NFS waiting: one S3 request runs, the rest wait in order for a turn', async () => {
    const { share, window } = rig();
    window({ utilization: 0.95, nfs: 40 });
    equal(share.contended, true);
    const { now, turns } = enterMany(share, 4);
    deepEqual(now, [0]);
    await tick();
    deepEqual(turns, []);
    share.leave();
    await tick();
    deepEqual(turns, [1]);
    share.leave();
    share.leave();
    await tick();
    deepEqual(turns, [1, 2, 3]);
    equal(share.queued, 3);
  });

  test('4 contention ends (the loop has room again, or NFS and SMB went quiet): every waiter runs', async () => {
    const { share, window } = rig();
    window({ utilization: 0.95, smb: 10 });
    const { turns } = enterMany(share, 6);
    window({ utilization: 0.95 });
    equal(share.contended, false, 'no NFS or SMB request in the last window');
    await tick();
    deepEqual(turns, [1, 2, 3, 4, 5]);
  });

  test('5 stop lets every waiter run', async () => {
    const { share, window } = rig();
    window({ utilization: 1, nfs: 20 });
    const { turns } = enterMany(share, 4);
    share.stop();
    await tick();
    deepEqual(turns, [1, 2, 3]);
  });

  test('6 a turn held long (a client slow to send its body) holds the others up MAX_WAIT_MS at most', async () => {
    const { share, window } = rig();
    window({ utilization: 1, nfs: 20 });
    const { now, turns } = enterMany(share, 3);
    deepEqual(now, [0]);
    await new Promise((r) => setTimeout(r, MAX_WAIT_MS + 50));
    deepEqual(turns, [1, 2], 'both waiters went ahead without a leave');
    share.leave();
    share.leave();
    share.leave();
    equal(share.enter(), undefined, 'every turn was handed back');
  });
});
