import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { quotaEnforcer } from '../../src/ops/quota/feature.ts';
import { isFsError } from '../../src/storage/errors.ts';
import { type Credential, ROOT } from '../../src/storage/types.ts';
import { type InProcessGateway, LEVEL, startGateway, waitUntil } from './fixture.ts';

const GB = 10n ** 9n;
const GiB = 2n ** 30n;

const as = (uid: number, gid = uid): Credential => ({ uid, gid, gids: [] });
const edquot = (e: unknown) => isFsError(e, 'EDQUOT');

describe('quota enforcement in a running gateway', () => {
  let g: InProcessGateway;
  let exportIno: bigint;

  before(async () => {
    g = await startGateway();
    exportIno = (await g.gw.ns.resolvePath(ROOT, '/export')).ino;
  });
  after(() => g.stop());

  /** Waits until the gateway's quota table holds what the CLI set. */
  const seen = (kind: 'uid' | 'gid', id: number, hard: bigint | null) =>
    waitUntil(
      () => quotaEnforcer(g.gw)?.quota(kind, id)?.hardBytes === hard,
      2000,
      `${kind} ${id} quota loaded`,
    );

  const newFile = (cred: Credential, name: string) => g.gw.ns.create(cred, exportIno, name, 0o644);

  test('1 over soft: the write succeeds, the exact WARN line is logged once, the grace clock starts', async () => {
    const set = await g.cfs(['quota', 'set-user', '--uid', '1000', '--soft', '10GB', '--hard', '12GB']);
    equal(set.code, 0, set.output);
    await seen('uid', 1000, 12n * GB);
    const u = as(1000);
    const f = await newFile(u, 'big');
    await g.gw.ns.setattr(u, f.ino, { size: 10n * GB });
    equal(
      g.log.lines.filter((l) => /Soft quota/.test(l.msg)).length,
      0,
      'reaching the soft limit is not exceeding it',
    );

    await g.gw.ns.write(u, f.ino, 10n * GB, Buffer.from('x'));
    const warn = g.log.withMsg('WARN: Soft quota exceeded for uid=1000 (usage=10GB/10GB)');
    equal(warn.length, 1, g.log.text());
    equal(warn[0]!.level, LEVEL.warn);
    await g.gw.ns.write(u, f.ino, 10n * GB + 1n, Buffer.from('y'));
    equal(
      g.log.lines.filter((l) => /Soft quota/.test(l.msg)).length,
      1,
      'logged when crossing, not on every write',
    );

    await quotaEnforcer(g.gw)!.settled();
    const stored = await g.gw.control.quotas.get('uid', 1000);
    ok(stored?.softExceededAt instanceof Date, 'grace clock recorded in the control plane');
    ok(Math.abs(stored.softExceededAt.getTime() - Date.now()) < 10_000);
  });

  test('2 over hard: EDQUOT, the exact ERROR line, and nothing written (size, ledger, data)', async () => {
    const u = as(1000);
    const f = await g.gw.ns.lookup(u, exportIno, 'big');
    await g.gw.ns.setattr(u, f.ino, { size: 12n * GB }); // in grace: up to the hard limit is allowed
    const before = await g.gw.ns.quotaUsage('uid', 1000);
    const physical = await g.gw.ns.data.physicalSize(f.ino);

    await rejects(g.gw.ns.write(u, f.ino, 12n * GB, Buffer.from('z')), edquot);
    const err = g.log.withMsg('ERROR: Hard quota exceeded for uid=1000 (usage=12GB/12GB)');
    equal(err.length, 1, g.log.text());
    equal(err[0]!.level, LEVEL.error);
    const said = err[0] as unknown as { asked: string; reason: string };
    deepEqual([said.asked, said.reason], ['+1B', 'the change would pass the hard limit']);

    equal((await g.gw.ns.getattr(f.ino)).size, 12n * GB);
    deepEqual(await g.gw.ns.quotaUsage('uid', 1000), before);
    equal(await g.gw.ns.data.physicalSize(f.ino), physical);

    // Refused again at once, by truncate-extend and by a new file's bytes too, but logged once per 10 s.
    await rejects(g.gw.ns.setattr(u, f.ino, { size: 12n * GB + 1n }), edquot);
    const other = await newFile(u, 'other');
    await rejects(g.gw.ns.write(u, other.ino, 0n, Buffer.from('a')), edquot);
    equal(g.log.lines.filter((l) => /Hard quota exceeded for uid=1000/.test(l.msg)).length, 1);
    deepEqual((await g.gw.ns.quotaUsage('uid', 1000)).bytes, before.bytes);
  });

  test('3 a group quota refuses a member’s write and says gid=', async () => {
    await g.gw.control.quotas.set({ kind: 'gid', subjectId: 2000, hardBytes: 10n ** 6n, hardUnit: 'MB' });
    await seen('gid', 2000, 10n ** 6n);
    const member = as(1001, 2000);
    const f = await newFile(member, 'team');
    await g.gw.ns.write(member, f.ino, 0n, Buffer.alloc(600_000, 1));
    await rejects(g.gw.ns.write(member, f.ino, 600_000n, Buffer.alloc(600_000, 2)), edquot);
    equal(g.log.withMsg('ERROR: Hard quota exceeded for gid=2000 (usage=0.6MB/1MB)').length, 1, g.log.text());
    equal((await g.gw.ns.getattr(f.ino)).size, 600_000n);
    // The user's own uid has no quota: another group's write by the same uid still goes through.
    const own = await newFile(as(1001, 1001), 'own');
    await g.gw.ns.write(as(1001, 1001), own.ino, 0n, Buffer.alloc(700_000, 3));
  });

  test('4 after the grace period the soft limit refuses like the hard one; back under soft clears the clock', async () => {
    await g.gw.control.quotas.set({
      kind: 'uid',
      subjectId: 1002,
      softBytes: 1000n,
      softUnit: 'KB',
      hardBytes: 10n ** 6n,
      hardUnit: 'MB',
      graceMs: 1000,
    });
    await seen('uid', 1002, 10n ** 6n);
    const u = as(1002);
    const f = await newFile(u, 'grace');
    await g.gw.ns.write(u, f.ino, 0n, Buffer.alloc(2000, 1));
    equal(g.log.withMsg('WARN: Soft quota exceeded for uid=1002 (usage=2KB/1KB)').length, 1, g.log.text());
    await g.gw.ns.write(u, f.ino, 2000n, Buffer.alloc(10, 1)); // still in grace

    await new Promise((r) => setTimeout(r, 1100));
    await rejects(g.gw.ns.write(u, f.ino, 2010n, Buffer.alloc(10, 1)), edquot);
    const err = g.log.withMsg('ERROR: Hard quota exceeded for uid=1002 (usage=2.01KB/1KB)');
    equal(err.length, 1, g.log.text());
    const said = err[0] as unknown as { asked: string; reason: string };
    deepEqual(
      [said.asked, said.reason],
      ['+10B', 'grace period expired: the soft limit now refuses as a hard one'],
    );
    const shown = await g.cfs(['quota', 'get', '--uid', '1002', '--json']);
    equal(JSON.parse(shown.stdout).state, 'grace expired', shown.output);

    // Deleting back under soft stops the clock; writing up to soft works again.
    await g.gw.ns.remove(u, exportIno, 'grace');
    await waitUntil(
      () => quotaEnforcer(g.gw)?.quota('uid', 1002)?.softExceededAt === null,
      2000,
      'clock cleared',
    );
    await quotaEnforcer(g.gw)!.settled();
    equal((await g.gw.control.quotas.get('uid', 1002))?.softExceededAt, null);
    const again = await newFile(u, 'grace2');
    await g.gw.ns.write(u, again.ino, 0n, Buffer.alloc(900, 1));
  });

  test('5 a limit set with ./cfs reaches the running gateway within 1 s, no restart', async () => {
    const u = as(1003);
    const f = await newFile(u, 'live');
    await g.gw.ns.write(u, f.ino, 0n, Buffer.alloc(5000, 1));

    // Each probe grows the file by one byte, so each one is charged.
    let end = 5000n;
    const grow = () => g.gw.ns.write(u, f.ino, end++, Buffer.from('x'));
    const lower = await g.cfs(['quota', 'set-user', '--uid', '1003', '--hard', '1KB']);
    equal(lower.code, 0, lower.output);
    const refusedAfter = await waitUntil(
      () => grow().then(() => false, edquot),
      1000,
      'lowered limit enforced',
    );
    ok(refusedAfter < 1000);

    const raise = await g.cfs(['quota', 'set-user', '--uid', '1003', '--hard', '1MB']);
    equal(raise.code, 0, raise.output);
    await waitUntil(
      () =>
        grow().then(
          () => true,
          () => false,
        ),
      1000,
      'raised limit enforced',
    );

    const removed = await g.cfs(['quota', 'remove', '--uid', '1003']);
    equal(removed.code, 0, removed.output);
    await waitUntil(() => quotaEnforcer(g.gw)?.quota('uid', 1003) === undefined, 1000, 'removal seen');
  });

  test('6 limits print in the unit they were set in: 10GiB stays 10GiB', async () => {
    await g.gw.control.quotas.set({ kind: 'uid', subjectId: 1004, hardBytes: 10n * GiB, hardUnit: 'GiB' });
    await seen('uid', 1004, 10n * GiB);
    const u = as(1004);
    const f = await newFile(u, 'gib');
    await g.gw.ns.setattr(u, f.ino, { size: 10n * GiB });
    await rejects(g.gw.ns.write(u, f.ino, 10n * GiB, Buffer.from('x')), edquot);
    equal(
      g.log.withMsg('ERROR: Hard quota exceeded for uid=1004 (usage=10GiB/10GiB)').length,
      1,
      g.log.text(),
    );
  });

  test('7 inode limits refuse the file past the hard count', async () => {
    await g.gw.control.quotas.set({
      kind: 'uid',
      subjectId: 1005,
      softInodes: 1n,
      hardInodes: 2n,
      hardBytes: null,
    });
    await waitUntil(
      () => quotaEnforcer(g.gw)?.quota('uid', 1005)?.hardInodes === 2n,
      2000,
      'inode quota loaded',
    );
    const u = as(1005);
    await newFile(u, 'i1');
    await newFile(u, 'i2');
    equal(g.log.withMsg('WARN: Soft quota exceeded for uid=1005 (inodes=2/1)').length, 1, g.log.text());
    await rejects(newFile(u, 'i3'), edquot);
    await rejects(g.gw.ns.mkdir(u, exportIno, 'd3', 0o755), edquot);
    equal(g.log.withMsg('ERROR: Hard quota exceeded for uid=1005 (inodes=2/2)').length, 1, g.log.text());
    equal((await g.gw.ns.quotaUsage('uid', 1005)).inodes, 2n);
  });

  test('8 a uid with no quota and root are never refused', async () => {
    const f = await newFile(as(1999), 'free');
    await g.gw.ns.setattr(as(1999), f.ino, { size: 100n * GB });
    const r = await g.gw.ns.create(ROOT, exportIno, 'rootfile', 0o644);
    await g.gw.ns.setattr(ROOT, r.ino, { size: 100n * GB });
  });
});
