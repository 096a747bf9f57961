import { equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { LockTable } from '../../src/storage/locks.ts';

const nfs = { protocol: 'nfs', key: 'nfs:host-a:1', client: 'host-a' };
const smb = { protocol: 'smb', key: 'smb:7:3', client: 'session-7' };

test('1 an NFS exclusive lock blocks an overlapping SMB lock, not a disjoint one', () => {
  const t = new LockTable();
  ok(t.lock({ ino: 5n, offset: 0n, length: 100n, exclusive: true, owner: nfs }).granted);
  const r = t.lock({ ino: 5n, offset: 50n, length: 10n, exclusive: false, owner: smb });
  equal(r.granted, false);
  ok(t.lock({ ino: 5n, offset: 100n, length: 10n, exclusive: true, owner: smb }).granted);
});

test('2 shared locks coexist; an exclusive one over them conflicts; to-end-of-file covers everything after', () => {
  const t = new LockTable();
  ok(t.lock({ ino: 1n, offset: 0n, length: 10n, exclusive: false, owner: nfs }).granted);
  ok(t.lock({ ino: 1n, offset: 5n, length: 10n, exclusive: false, owner: smb }).granted);
  equal(
    t.lock({ ino: 1n, offset: 9n, length: 1n, exclusive: true, owner: { ...smb, key: 'other' } }).granted,
    false,
  );
  ok(t.lock({ ino: 2n, offset: 1000n, length: 0n, exclusive: true, owner: nfs }).granted);
  equal(t.conflict(2n, 1n << 40n, 1n, false, smb.key)?.owner.key, nfs.key);
  equal(t.conflict(2n, 0n, 1000n, true, smb.key), undefined);
});

test('3 unlock and client release wake waiters', () => {
  const t = new LockTable();
  t.lock({ ino: 3n, offset: 0n, length: 1n, exclusive: true, owner: nfs });
  let woken = 0;
  t.onRelease(3n, () => woken++);
  equal(t.unlock(3n, 0n, 1n, 'someone-else'), false);
  ok(t.unlock(3n, 0n, 1n, nfs.key));
  equal(woken, 1);
  t.lock({ ino: 4n, offset: 0n, length: 1n, exclusive: true, owner: nfs });
  t.lock({ ino: 5n, offset: 0n, length: 1n, exclusive: true, owner: nfs });
  equal(t.releaseClient('nfs', 'host-a'), 2);
  equal(t.list().length, 0);
});

test("4 an SMB zero-length lock is a point: a range holding bytes on both sides of it conflicts, NLM's to-end-of-file included", () => {
  const t = new LockTable();
  ok(t.lock({ ino: 6n, offset: 10n, length: 0n, point: true, exclusive: true, owner: smb }).granted);
  // MS-FSA 2.1.4.10: [9, 11) and [9, 12) hold bytes on both sides of 10; [10, 12) and [9, 10) do not.
  const other = { ...smb, key: 'smb:7:4' };
  equal(t.lock({ ino: 6n, offset: 9n, length: 2n, exclusive: true, owner: other }).granted, false);
  equal(t.conflict(6n, 9n, 3n, false, other.key)?.owner.key, smb.key);
  ok(t.lock({ ino: 6n, offset: 10n, length: 2n, exclusive: true, owner: other }).granted);
  ok(t.lock({ ino: 6n, offset: 9n, length: 1n, exclusive: true, owner: other }).granted);
  // Another point at the same place meets nothing; an NLM lock from before it to the end does.
  ok(t.lock({ ino: 6n, offset: 10n, length: 0n, point: true, exclusive: true, owner: other }).granted);
  equal(t.conflict(6n, 5n, 0n, true, nfs.key)?.owner.key, smb.key);
  equal(t.conflict(6n, 11n, 0n, true, nfs.key)?.owner.key, other.key, 'the lock [10, 12) holds byte 11');
  equal(t.conflict(6n, 12n, 0n, true, nfs.key), undefined, 'nothing holds a byte from 12 on');
  // Not "to the end of the file": a point at 10 leaves byte 1000 free.
  equal(t.conflict(6n, 1000n, 1n, true, nfs.key), undefined);
  // Unlocking the point names it as a point: the to-end-of-file range at 10 is not it.
  equal(t.unlock(6n, 10n, 0n, smb.key), false);
  ok(t.unlock(6n, 10n, 0n, smb.key, { point: true }));
  equal(
    t.conflict(6n, 9n, 2n, true, nfs.key)?.owner.key,
    other.key,
    "the other open's [9, 10) and [10, 12) stay",
  );
});

test('5 an unlock of a range the owner holds twice (exclusive, then shared on it) removes the exclusive one first', () => {
  const t = new LockTable();
  ok(t.lock({ ino: 7n, offset: 0n, length: 10n, exclusive: true, owner: smb }).granted);
  ok(t.lock({ ino: 7n, offset: 0n, length: 10n, exclusive: false, owner: smb }).granted);
  ok(t.unlock(7n, 0n, 10n, smb.key));
  // Only the shared lock is left: another owner may read-lock, not write-lock.
  equal(t.conflict(7n, 0n, 10n, false, nfs.key), undefined);
  equal(t.conflict(7n, 0n, 10n, true, nfs.key)?.exclusive, false);
});
