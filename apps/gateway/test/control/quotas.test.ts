import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ControlError } from '../../src/control/index.ts';
import { CONTROL_STORES, useFreshControlPlane } from './helpers.ts';

for (const store of CONTROL_STORES) {
  describe(`control plane on ${store.name}`, store.options, () => {
    const cp = useFreshControlPlane(store);

    const GB = 1024n ** 3n;
    const invalid = (re: RegExp) => (err: unknown) =>
      err instanceof ControlError && err.code === 'INVALID' && re.test(err.message);

    test('a quota keeps the units the operator typed and may name a uid with no account', async () => {
      const q = await cp.quotas.set({
        kind: 'uid',
        subjectId: 1000,
        softBytes: 10n * GB,
        hardBytes: 12n * GB,
        softUnit: 'GB',
        hardUnit: 'GB',
        graceMs: 30 * 24 * 3600 * 1000,
      });
      assert.equal(await cp.users.get(1000), null);
      assert.deepEqual(
        [q.kind, q.subjectId, q.softBytes, q.hardBytes, q.softUnit, q.hardUnit, q.graceMs],
        ['uid', 1000, 10n * GB, 12n * GB, 'GB', 'GB', 2_592_000_000],
      );
      assert.deepEqual(await cp.quotas.get('uid', 1000), q);
    });

    test('soft above hard is rejected, and nothing is stored', async () => {
      await assert.rejects(
        cp.quotas.set({ kind: 'gid', subjectId: 2000, softBytes: 13n * GB, hardBytes: 12n * GB }),
        invalid(/soft limit .* exceeds hard limit/),
      );
      await assert.rejects(
        cp.quotas.set({ kind: 'gid', subjectId: 2000, softInodes: 11n, hardInodes: 10n }),
        invalid(/soft inode limit/),
      );
      assert.equal(await cp.quotas.get('gid', 2000), null);
      // Also when the conflict comes from the stored half of the pair.
      await assert.rejects(
        cp.quotas.set({ kind: 'uid', subjectId: 1000, softBytes: 20n * GB }),
        invalid(/exceeds/),
      );
      assert.equal((await cp.quotas.get('uid', 1000))?.softBytes, 10n * GB);
    });

    test('updates merge: omitted fields keep their value, null clears', async () => {
      await cp.quotas.set({
        kind: 'gid',
        subjectId: 3000,
        softBytes: 1n * GB,
        hardBytes: 2n * GB,
        softInodes: 100n,
      });
      const q = await cp.quotas.set({ kind: 'gid', subjectId: 3000, hardBytes: 5n * GB, softInodes: null });
      assert.deepEqual([q.softBytes, q.hardBytes, q.softInodes], [1n * GB, 5n * GB, null]);
      assert.equal((await cp.quotas.list('gid')).length, 1);
    });

    test('bad kinds, ids and values are rejected', async () => {
      // biome-ignore lint/suspicious/noExplicitAny: untyped input as the CLI/API might pass it
      await assert.rejects(cp.quotas.set({ kind: 'user' as any, subjectId: 1 }), invalid(/uid or gid/));
      await assert.rejects(cp.quotas.set({ kind: 'uid', subjectId: -5 }), invalid(/uid must be/));
      await assert.rejects(
        cp.quotas.set({ kind: 'uid', subjectId: 9, hardBytes: -1n }),
        invalid(/hardBytes/),
      );
      await assert.rejects(cp.quotas.set({ kind: 'uid', subjectId: 9, graceMs: 1.5 }), invalid(/grace/));
    });

    test('grace clock, list order and remove', async () => {
      const at = new Date('2026-01-02T03:04:05.678Z');
      await cp.quotas.setSoftExceededAt('uid', 1000, at);
      assert.deepEqual((await cp.quotas.get('uid', 1000))?.softExceededAt, at);
      await cp.quotas.setSoftExceededAt('uid', 1000, null);
      assert.equal((await cp.quotas.get('uid', 1000))?.softExceededAt, null);

      assert.deepEqual(
        (await cp.quotas.list()).map((q) => `${q.kind}:${q.subjectId}`),
        ['uid:1000', 'gid:3000'],
      );
      await cp.quotas.remove('gid', 3000);
      await assert.rejects(
        cp.quotas.remove('gid', 3000),
        (e) => e instanceof ControlError && e.code === 'NOT_FOUND',
      );
      assert.equal(await cp.quotas.get('gid', 3000), null);
    });

    test('every change to the table changes its version token; a refused one does not', async () => {
      const tokens = [await cp.quotas.version()];
      const changed = async (what: string) => {
        const v = await cp.quotas.version();
        assert.ok(v !== null && !tokens.includes(v), `${what}: ${v} after ${tokens.join(', ')}`);
        tokens.push(v);
      };
      await cp.quotas.set({ kind: 'uid', subjectId: 4100, hardBytes: GB });
      await changed('created');
      await cp.quotas.set({ kind: 'uid', subjectId: 4100, hardBytes: 2n * GB });
      await changed('updated');
      await cp.quotas.setSoftExceededAt('uid', 4100, new Date());
      await changed('clock started');
      await assert.rejects(
        cp.quotas.set({ kind: 'uid', subjectId: 4100, softBytes: 3n * GB }),
        invalid(/exceeds/),
      );
      assert.equal(await cp.quotas.version(), tokens.at(-1));
      await cp.quotas.remove('uid', 4100);
      await changed('removed');
    });

    test('byte limits up to 2^63-1 round-trip exactly', async () => {
      const max = 2n ** 63n - 1n;
      const q = await cp.quotas.set({ kind: 'uid', subjectId: 4000, hardBytes: max, softBytes: max - 1n });
      assert.equal(q.hardBytes, max);
      assert.equal((await cp.quotas.get('uid', 4000))?.softBytes, max - 1n);
    });
  });
}
