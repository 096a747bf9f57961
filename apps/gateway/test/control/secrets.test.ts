import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { ControlError, openControlPlane } from '../../src/control/index.ts';
import { open as openSealed } from '../../src/control/secret-box.ts';
import { CONTROL_STORES, type FreshDatabase } from './helpers.ts';

for (const store of CONTROL_STORES) {
  describe(`control plane secrets on ${store.name}`, store.options, () => {
    const opened: FreshDatabase[] = [];
    /** A fresh database whose files are scanned for secrets, removed after the suite. */
    const fresh = async () => {
      const db = await store.fresh();
      opened.push(db);
      return db;
    };
    after(async () => {
      for (const db of opened) await db.dispose();
    });

    test('S3 secrets are stored only encrypted; lookup returns the plain secret for SigV4', async () => {
      const db = await fresh();
      const cp = await openControlPlane(db.open);
      await cp.users.add({ name: 'alice', groups: ['staff'] });
      const key = await cp.s3Keys.create('alice');
      assert.match(key.accessKeyId, /^CFS[A-Z2-7]{17}$/);
      assert.equal(key.secret.length, 40);

      const cred = await cp.s3Keys.lookup(key.accessKeyId);
      assert.equal(cred?.secret, key.secret);
      assert.equal(cred?.uid, 1000);
      assert.equal(cred?.gids.length, 1);

      const row = await cp.prisma.s3Key.findUniqueOrThrow({ where: { accessKeyId: key.accessKeyId } });
      assert.match(row.secretCiphertext, /^v1:/);
      // The ciphertext is bound to its access key id: copied onto another key it does not open.
      assert.throws(() => openSealed(cp.secrets.s3SecretKey, row.secretCiphertext, 'CFSOTHERKEYID0000000'));

      const explicit = await cp.s3Keys.create('alice', {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      });
      assert.equal(
        (await cp.s3Keys.lookup('AKIAIOSFODNN7EXAMPLE'))?.secret,
        'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      );
      await assert.rejects(
        cp.s3Keys.create('alice', { accessKeyId: explicit.accessKeyId }),
        (e) => e instanceof ControlError && e.code === 'EXISTS',
      );

      const open = await db.storedBytes();
      assert.ok(open.includes(key.accessKeyId), 'the scan reads the rows (access key id is plain)');
      assert.ok(!open.includes(key.secret), 'generated secret not stored');
      assert.ok(!open.includes('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), 'imported secret not stored');
      await cp.close();
      const closed = await db.storedBytes();
      assert.ok(!closed.includes(key.secret));
      assert.ok(!closed.includes('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'));
    });

    test('revoked keys and disabled users do not authenticate; keys are listed without secrets', async () => {
      const db = await fresh();
      const cp = await openControlPlane(db.open);
      try {
        await cp.users.add({ name: 'bob' });
        const k1 = await cp.s3Keys.create('bob');
        const k2 = await cp.s3Keys.create('bob');
        await cp.s3Keys.revoke(k1.accessKeyId);
        assert.equal(await cp.s3Keys.lookup(k1.accessKeyId), null);
        assert.notEqual(await cp.s3Keys.lookup(k2.accessKeyId), null);
        await cp.users.setDisabled('bob', true);
        assert.equal(await cp.s3Keys.lookup(k2.accessKeyId), null);
        assert.equal(await cp.s3Keys.lookup('CFSNOSUCHKEY00000000'), null);

        const listed = await cp.s3Keys.list('bob');
        assert.deepEqual(
          listed.map((k) => [k.accessKeyId, k.status]),
          [
            [k1.accessKeyId, 'inactive'],
            [k2.accessKeyId, 'active'],
          ],
        );
        assert.ok(listed.every((k) => !('secret' in k)));
        await cp.s3Keys.touch(k2.accessKeyId);
        assert.ok(
          (await cp.s3Keys.list()).find((k) => k.accessKeyId === k2.accessKeyId)?.lastUsedAt instanceof Date,
        );
        await cp.users.remove('bob');
        assert.deepEqual(await cp.s3Keys.list(), [], "a user's keys go with the user");
      } finally {
        await cp.close();
      }
    });

    test('admin tokens: shown once, stored as sha256 only, verified to a role, revocable and expiring', async () => {
      const db = await fresh();
      const cp = await openControlPlane(db.open);
      const t = await cp.adminTokens.create('ci', 'operator');
      assert.match(t.token, /^cfs_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(await cp.adminTokens.verify(t.token), { name: 'ci', role: 'operator' });
      assert.equal(await cp.adminTokens.verify(`${t.token}x`), null);

      const row = await cp.prisma.adminToken.findUniqueOrThrow({ where: { name: 'ci' } });
      assert.equal(row.tokenHash, createHash('sha256').update(t.token).digest('hex'));
      assert.ok(row.lastUsedAt instanceof Date, 'use is recorded');

      const old = await cp.adminTokens.create('old', 'admin', { expiresAt: new Date(Date.now() - 1000) });
      assert.equal(await cp.adminTokens.verify(old.token), null, 'expired');
      await cp.adminTokens.revoke('ci');
      assert.equal(await cp.adminTokens.verify(t.token), null, 'revoked');
      assert.deepEqual(
        (await cp.adminTokens.list()).map((x) => [x.name, x.revoked]),
        [
          ['ci', true],
          ['old', false],
        ],
      );
      await assert.rejects(
        cp.adminTokens.create('ci', 'viewer'),
        (e) => e instanceof ControlError && e.code === 'EXISTS',
      );
      await cp.close();
      const bytes = await db.storedBytes();
      assert.ok(bytes.includes(row.tokenHash), 'the scan reads the rows');
      assert.ok(!bytes.includes(t.token) && !bytes.includes(old.token), 'no token stored');
    });

    test('cluster secrets: 32 random bytes each, created once per database', async () => {
      const a = await fresh();
      const b = await fresh();
      const one = await openControlPlane(a.open);
      const two = await openControlPlane(b.open);
      try {
        assert.equal(one.secrets.nfsHandleKey.length, 32);
        assert.equal(one.secrets.s3SecretKey.length, 32);
        assert.notDeepEqual(one.secrets.nfsHandleKey, one.secrets.s3SecretKey);
        assert.notDeepEqual(one.secrets.nfsHandleKey, two.secrets.nfsHandleKey);
        assert.equal(
          await one.settings.ensure('nfs.handleMacKey', () => 'ignored'),
          one.secrets.nfsHandleKey.toString('base64'),
        );
        assert.equal(await one.settings.get('no.such.key'), null);
        assert.equal(await one.settings.ensure('custom', () => 'v1'), 'v1');
        assert.equal(await one.settings.ensure('custom', () => 'v2'), 'v1');
      } finally {
        await one.close();
        await two.close();
      }
    });
  });
}
