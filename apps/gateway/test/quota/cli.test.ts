import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type ControlPlane, openControlPlane } from '../../src/control/index.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { CFS, writeGatewayConfig } from './fixture.ts';

/** ./cfs quota with no gateway running: it opens the control plane and the ledger itself. */
describe('./cfs quota', () => {
  let dir: string;
  let configFile: string;
  const cfs = (...args: string[]) =>
    runCommand(CFS, [...args, '--config', configFile], { timeoutMs: 60_000 });
  const control = () => openControlPlane({ stateDir: join(dir, 'state') });
  /** A file of `size` bytes owned by `uid`, written straight into the namespace (the ledger sees it). */
  const ownedFile = async (name: string, uid: number, size: bigint) => {
    const ns = await openNamespace({
      metadataUrl: `sqlite://${dir}/state/meta.db`,
      transportUrl: `file://${dir}/state/data`,
    });
    try {
      const f = await ns.create(ROOT, ns.rootIno, name, 0o644, undefined, { uid, gid: uid });
      await ns.setattr(ROOT, f.ino, { size });
    } finally {
      await ns.close();
    }
  };

  before(async () => {
    dir = makeTempDir('quota-cli');
    configFile = await writeGatewayConfig(dir);
    // An installed gateway's state folder: ./cfs refuses a missing one (a volume not mounted).
    mkdirSync(join(dir, 'state'));
  });

  test('1 soft above hard is refused with both values as typed, and nothing is stored', async () => {
    const r = await cfs('quota', 'set-user', '--uid', '1000', '--soft', '30GB', '--hard', '25GB');
    equal(r.code, 2, r.output);
    match(r.stderr, /--soft 30GB is above --hard 25GB: a soft limit must not exceed its hard limit/);
    const get = await cfs('quota', 'get', '--uid', '1000');
    equal(get.code, 1);
    match(get.stderr, /no quota set for uid=1000/);

    equal((await cfs('quota', 'set-user', '--uid', '1000', '--soft', '20GB', '--hard', '25GB')).code, 0);
    const raise = await cfs('quota', 'set-user', '--uid', '1000', '--soft', '26GB');
    equal(raise.code, 2);
    match(raise.stderr, /--soft 26GB is above the hard limit already set \(25GB\)/);
    const inodes = await cfs(
      'quota',
      'set-group',
      '--gid',
      '7',
      '--soft-inodes',
      '11',
      '--hard-inodes',
      '10',
    );
    equal(inodes.code, 2);
    match(inodes.stderr, /--soft-inodes 11 is above --hard-inodes 10/);
  });

  const bad: Array<[number, string[], RegExp]> = [
    [
      1,
      ['set-user', '--uid', '1000', '--soft', '20XB'],
      /^--soft: '20XB' is not a size \(.*unknown unit 'XB'/,
    ],
    [2, ['set-user', '--uid', '1000', '--hard', 'lots'], /^--hard: 'lots' is not a size/],
    [3, ['set-user', '--uid', 'abc', '--soft', '20GB'], /^--uid: 'abc' is not a uid/],
    [4, ['set-group', '--gid', '1.5', '--soft', '20GB'], /^--gid: '1\.5' is not a gid/],
    [5, ['set-user', '--uid', '99999999999', '--soft', '1GB'], /^--uid: '99999999999' is not a uid/],
    [6, ['set-user', '--uid', '1000', '--hard-inodes', '2k'], /^--hard-inodes: '2k' is not a count/],
    [7, ['set-user', '--uid', '1000', '--grace', '7'], /^--grace: '7' is not a duration/],
    [8, ['set-user', '--uid', '1000'], /^nothing to set/],
    [9, ['get', '--uid', '1', '--gid', '2'], /exactly one of --uid N or --gid N/],
    [10, ['remove'], /exactly one of --uid N or --gid N/],
  ];
  for (const [row, args, message] of bad) {
    test(`bad input ${row}: quota ${args.join(' ')} exits 2 naming the argument`, async () => {
      const r = await cfs('quota', ...args);
      equal(r.code, 2, r.output);
      match(r.stderr, message);
      equal(r.stdout, '');
    });
  }

  test('2 sizes print as they were set: 10GB stays 10GB, 10GiB stays 10GiB; a uid needs no account', async () => {
    const a = await cfs('quota', 'set-user', '--uid', '4242', '--soft', '10GB', '--hard', '12GB');
    equal(a.code, 0, a.output);
    match(a.stdout, /quota set for uid=4242\n/);
    match(a.stdout, /bytes +used 0GB, soft 10GB, hard 12GB/);
    const b = await cfs(
      'quota',
      'set-group',
      '--gid',
      '1500',
      '--soft',
      '10GiB',
      '--hard',
      '12GiB',
      '--grace',
      '3d',
    );
    equal(b.code, 0, b.output);
    match(b.stdout, /soft 10GiB, hard 12GiB/);
    match(b.stdout, /grace +3d\n/);

    const list = await cfs('quota', 'list');
    equal(list.code, 0, list.output);
    const lines = list.stdout.trimEnd().split('\n');
    match(lines[0]!, /^SUBJECT +NAME +USED +SOFT +HARD +INODES +ISOFT +IHARD +GRACE +STATE$/);
    ok(
      lines.some((l) => /^uid=4242 +- +0GB +10GB +12GB +0 +- +- +7d +ok$/.test(l)),
      list.stdout,
    );
    ok(
      lines.some((l) => /^gid=1500 +- +0GiB +10GiB +12GiB +0 +- +- +3d +ok$/.test(l)),
      list.stdout,
    );

    const json = JSON.parse((await cfs('quota', 'get', '--gid', '1500', '--json')).stdout);
    deepEqual(json.bytes, {
      used: '0',
      soft: String(10n * 2n ** 30n),
      hard: String(12n * 2n ** 30n),
      softUnit: 'GiB',
      hardUnit: 'GiB',
      usedText: '0GiB',
      softText: '10GiB',
      hardText: '12GiB',
    });
    equal(json.name, null);
    equal(json.graceMs, 3 * 86_400_000);
    equal(json.ownGrace, true);
  });

  test('3 get and list show the ledger’s usage and the state with grace remaining', async () => {
    await ownedFile('owned', 4242, 11n * 10n ** 9n);
    const over = JSON.parse((await cfs('quota', 'get', '--uid', '4242', '--json')).stdout);
    equal(over.bytes.used, String(11n * 10n ** 9n));
    equal(over.bytes.usedText, '11GB');
    equal(over.inodes.used, '1');
    equal(over.state, 'over soft', 'no gateway has started the grace clock yet');

    let cp: ControlPlane | undefined = await control();
    try {
      await cp.quotas.setSoftExceededAt('uid', 4242, new Date(Date.now() - 1_800_000));
    } finally {
      await cp.close();
    }
    const grace = await cfs('quota', 'get', '--uid', '4242');
    match(grace.stdout, /^uid=4242\n/);
    match(grace.stdout, /state +in grace \(6d 23h left\)/);
    match(grace.stdout, /bytes +used 11GB, soft 10GB, hard 12GB/);
    match(grace.stdout, /inodes +used 1, soft -, hard -/);
    match(grace.stdout, /grace +7d \(default: quota.grace_period\)/);

    cp = await control();
    try {
      await cp.quotas.setSoftExceededAt('uid', 4242, new Date(Date.now() - 8 * 86_400_000));
    } finally {
      await cp.close();
    }
    const list = await cfs('quota', 'list', '--json');
    const row = (
      JSON.parse(list.stdout) as Array<{ kind: string; id: number; state: string; graceRemainingMs: number }>
    ).find((r) => r.kind === 'uid' && r.id === 4242);
    equal(row?.state, 'grace expired');
    equal(row?.graceRemainingMs, 0);

    const hard = await cfs('quota', 'set-user', '--uid', '4242', '--hard', '11GB');
    match(hard.stdout, /state +over hard/);
    match(hard.stdout, /over soft since/);

    // Limits raised above the usage: ok, and the moment it went over soft is no longer shown.
    const raised = await cfs('quota', 'set-user', '--uid', '4242', '--soft', '20GB', '--hard', '30GB');
    equal(raised.code, 0, raised.output);
    const ok = await cfs('quota', 'get', '--uid', '4242');
    match(ok.stdout, /state +ok/);
    equal(ok.stdout.includes('over soft since'), false, ok.stdout);
  });

  test("3b a usage far below the limits' unit reads in its own (10KB, not 0GB)", async () => {
    await ownedFile('small', 4343, 10_000n);
    equal((await cfs('quota', 'set-user', '--uid', '4343', '--soft', '10GB', '--hard', '12GB')).code, 0);
    const get = await cfs('quota', 'get', '--uid', '4343');
    match(get.stdout, /bytes +used 10KB, soft 10GB, hard 12GB/);
    const list = await cfs('quota', 'list');
    ok(
      list.stdout.split('\n').some((l) => /^uid=4343 +- +10KB +10GB +12GB /.test(l)),
      list.stdout,
    );
  });

  test('4 remove; every change is in the audit log with the operator as actor', async () => {
    const r = await cfs('quota', 'remove', '--uid', '4242');
    equal(r.code, 0, r.output);
    match(r.stdout, /quota removed for uid=4242/);
    const again = await cfs('quota', 'remove', '--uid', '4242');
    equal(again.code, 1);
    match(again.stderr, /^no quota set for uid=4242$/m, 'worded as quota get words it');

    const cp = await control();
    try {
      const entries = await cp.audit.list({ target: 'uid=4242' });
      deepEqual(entries.map((e) => [e.action, e.outcome]).reverse(), [
        ['quota.set', 'ok'],
        ['quota.set', 'ok'],
        ['quota.set', 'ok'],
        ['quota.remove', 'ok'],
        ['quota.remove', 'error'],
      ]);
      const actor = `cli:${process.env.USER || process.env.LOGNAME || (await import('node:os')).userInfo().username}`;
      for (const e of entries) equal(e.actor, actor);
      const first = entries.at(-1)!.detail as Record<string, unknown>;
      equal(first.softUnit, 'GB');
      equal(first.softBytes, String(10n * 10n ** 9n));
    } finally {
      await cp.close();
    }
  });

  test('5 report (repquota): every owner of space, most first, with its quota where it has one; --group; --json', async () => {
    await ownedFile('big-5100', 5100, 3_000_000n);
    await ownedFile('small-5200', 5200, 1_000n);
    const cp = await control();
    try {
      await cp.users.add({ name: 'reporter', uid: 5200 });
    } finally {
      await cp.close();
    }
    equal((await cfs('quota', 'set-user', '--uid', '5200', '--soft', '1MB', '--hard', '2MB')).code, 0);

    const r = await cfs('quota', 'report');
    equal(r.code, 0, r.output);
    const lines = r.stdout.trim().split('\n');
    match(lines[0]!, /^SUBJECT\s+NAME\s+USED\s+INODES\s+SOFT\s+HARD\s+ISOFT\s+IHARD\s+STATE$/);
    const order = lines.slice(1).map((l) => l.split(/\s+/)[0]);
    ok(order.indexOf('uid=5100') < order.indexOf('uid=5200'), `largest first: ${order.join(' ')}`);
    match(r.stdout, /^uid=5100\s+-\s+3MB\s+1\s+-\s+-\s+-\s+-\s+no quota$/m);
    match(r.stdout, /^uid=5200\s+reporter\s+1KB\s+1\s+1MB\s+2MB\s+-\s+-\s+ok$/m);
    ok(order.includes('uid=1000'), 'a quota with nothing used (uid 1000, test 1) is listed too');
    match(r.stdout, /^uid=0\s+root\s+/m, 'an id no account holds, named as Unix names it');

    const groups = await cfs('quota', 'report', '--group');
    equal(groups.code, 0, groups.output);
    match(groups.stdout, /^gid=5100\s+-\s+3MB\s+1\s/m);

    const json = await cfs('quota', 'report', '--json');
    const rows = JSON.parse(json.stdout) as Array<{
      id: number;
      name: string | null;
      used: { bytes: string };
      quota: { state: string } | null;
    }>;
    const big = rows.find((x) => x.id === 5100);
    deepEqual([big?.used.bytes, big?.quota], ['3000000', null]);
    equal(rows.find((x) => x.id === 5200)?.quota?.state, 'ok');
  });
});
