import { deepEqual, equal } from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { IMMUTABLE_FOREVER, ROOT } from '../../src/storage/types.ts';
import { ALICE, type Fixture, names, openFixture, rejectsWith } from './fixture.ts';

/**
 * Immutable files (`inodes.hold`, what S3 Object Lock sets): until the hold runs out nobody —
 * root included — changes the bytes, the size, the mode, owner or times, or removes the last
 * name; a second name may come and go, and the file may move. Checked by the namespace, so
 * NFS, SMB and S3 meet the same refusal.
 */
let fx: Fixture;
beforeEach(async () => {
  fx = await openFixture();
});
afterEach(async () => {
  await fx.ns.close();
});

const inAnHour = () => (BigInt(Date.now()) + 3_600_000n) * 1_000_000n;

async function heldFile(name: string, until: bigint) {
  const { ns } = fx;
  const dir = await ns.ensureDirectory('/d', 0o777);
  const f = await ns.create(ALICE, dir.ino, name, 0o644);
  await ns.write(ALICE, f.ino, 0n, Buffer.from('kept as written'));
  await ns.setImmutableUntil(f.ino, until);
  return { dir, f };
}

test('1 a held file refuses writes, truncation, chmod, chown, utimes and removal of its last name — to root too', async () => {
  const { ns } = fx;
  const until = inAnHour();
  const { dir, f } = await heldFile('held', until);
  equal((await ns.getattr(f.ino)).immutableUntilNs, until);
  for (const cred of [ALICE, ROOT]) {
    await rejectsWith(ns.write(cred, f.ino, 0n, Buffer.from('X')), 'EPERM');
    await rejectsWith(ns.write(cred, f.ino, 15n, Buffer.from('more')), 'EPERM');
    await rejectsWith(ns.setattr(cred, f.ino, { size: 0n }), 'EPERM');
    await rejectsWith(ns.setattr(cred, f.ino, { mode: 0o666 }), 'EPERM');
    await rejectsWith(ns.setattr(cred, f.ino, { mtimeNs: 1n }), 'EPERM');
    await rejectsWith(ns.remove(cred, dir.ino, 'held'), 'EPERM');
  }
  await rejectsWith(ns.setattr(ROOT, f.ino, { uid: 0 }), 'EPERM');
  // Replacing it by a rename over its name would remove it too.
  const other = await ns.create(ALICE, dir.ino, 'other', 0o644);
  await rejectsWith(ns.rename(ALICE, dir.ino, 'other', dir.ino, 'held'), 'EPERM');
  equal((await ns.lookup(ALICE, dir.ino, 'held')).ino, f.ino);
  equal((await ns.lookup(ALICE, dir.ino, 'other')).ino, other.ino);
  // Setting what it already has changes nothing and is not refused (SMB clients do it).
  await ns.setattr(ALICE, f.ino, { mode: 0o644 });
  const bytes = await ns.read(ALICE, f.ino, 0n, 100);
  equal(bytes.data.toString(), 'kept as written');
});

test('2 a held file may gain and lose other names and move; its last name stays', async () => {
  const { ns } = fx;
  const { dir, f } = await heldFile('held', inAnHour());
  await ns.link(ALICE, f.ino, dir.ino, 'second');
  await ns.remove(ALICE, dir.ino, 'held');
  await ns.rename(ALICE, dir.ino, 'second', dir.ino, 'moved');
  deepEqual(await names(fx, dir.ino), ['moved']);
  await rejectsWith(ns.remove(ALICE, dir.ino, 'moved'), 'EPERM');
  equal((await ns.getattr(f.ino)).nlink, 1);
});

test('3 once the hold has run out, or is lifted, the file is an ordinary file again; a legal hold never runs out', async () => {
  const { ns } = fx;
  const past = (BigInt(Date.now()) - 1000n) * 1_000_000n;
  const { dir, f } = await heldFile('expired', past);
  await ns.write(ALICE, f.ino, 0n, Buffer.from('K'));
  await ns.remove(ALICE, dir.ino, 'expired');
  const g = (await heldFile('legal', IMMUTABLE_FOREVER)).f;
  await rejectsWith(ns.write(ALICE, g.ino, 0n, Buffer.from('X')), 'EPERM');
  await rejectsWith(ns.remove(ALICE, dir.ino, 'legal'), 'EPERM');
  await ns.setImmutableUntil(g.ino, 0n);
  await ns.write(ALICE, g.ino, 0n, Buffer.from('X'));
  await ns.remove(ALICE, dir.ino, 'legal');
  deepEqual(await names(fx, dir.ino), []);
});

test('4 the hold survives a restart; a file with its own blob is refused before a byte is written', async () => {
  const { dir, f } = await heldFile('held', inAnHour());
  const ns = await fx.reopen();
  await rejectsWith(ns.write(ALICE, f.ino, 0n, Buffer.alloc(200_000, 1)), 'EPERM');
  await rejectsWith(ns.remove(ROOT, dir.ino, 'held'), 'EPERM');
  const big = await ns.create(ALICE, dir.ino, 'big', 0o644);
  await ns.write(ALICE, big.ino, 0n, Buffer.alloc(200_000, 2));
  await ns.setImmutableUntil(big.ino, inAnHour());
  await rejectsWith(ns.write(ALICE, big.ino, 0n, Buffer.alloc(1000, 3)), 'EPERM');
  equal((await ns.read(ALICE, big.ino, 0n, 10)).data[0], 2);
});

test('5 only files are held', async () => {
  const { ns } = fx;
  const dir = await ns.ensureDirectory('/d', 0o777);
  await rejectsWith(ns.setImmutableUntil(dir.ino, inAnHour()), 'EINVAL');
});
