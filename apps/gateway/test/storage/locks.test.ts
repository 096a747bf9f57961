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
