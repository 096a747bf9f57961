import { deepEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import type { QuotaRecord } from '../../src/control/index.ts';
import { QuotaEnforcer } from '../../src/ops/quota/enforcer.ts';
import { quotaState, refusalFor, usageText } from '../../src/ops/quota/limits.ts';
import { isFsError } from '../../src/storage/errors.ts';
import { formatRemaining } from '../../src/util/units.ts';

const GB = 10n ** 9n;
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-28T12:00:00Z');

function quota(over: Partial<QuotaRecord> = {}): QuotaRecord {
  return {
    kind: 'uid',
    subjectId: 1000,
    softBytes: 10n * GB,
    hardBytes: 12n * GB,
    softInodes: 100n,
    hardInodes: 200n,
    softUnit: 'GB',
    hardUnit: 'GB',
    graceMs: null,
    softExceededAt: null,
    updatedAt: new Date(NOW),
    ...over,
  };
}

const ago = (ms: number) => new Date(NOW - ms);

test('refusals: which limit a change would pass (numbered rows)', () => {
  const rows: Array<[number, Partial<QuotaRecord>, [bigint, bigint], [bigint, bigint], string]> = [
    [1, {}, [11n * GB, 0n], [GB, 0n], 'none'],
    [2, {}, [11n * GB, 0n], [GB + 1n, 0n], 'bytes hard 12000000000'],
    [3, {}, [12n * GB, 0n], [0n, 1n], 'none'], // at the byte limit an empty file may still be made
    [4, {}, [0n, 200n], [0n, 1n], 'inodes hard 200'],
    [5, { softExceededAt: ago(DAY) }, [11n * GB, 0n], [1n, 0n], 'none'], // in grace (7 d default)
    [6, { softExceededAt: ago(8 * DAY) }, [11n * GB, 0n], [1n, 0n], 'bytes soft 10000000000'],
    [7, { softExceededAt: ago(2000), graceMs: 1000 }, [11n * GB, 0n], [1n, 0n], 'bytes soft 10000000000'],
    [8, { softExceededAt: ago(8 * DAY) }, [5n * GB, 0n], [GB, 0n], 'none'], // still under soft
    [9, { softExceededAt: ago(8 * DAY) }, [0n, 100n], [0n, 1n], 'inodes soft 100'],
    [10, { hardBytes: null, softBytes: null }, [10n ** 18n, 0n], [GB, 0n], 'none'],
  ];
  for (const [row, over, [bytes, inodes], [addBytes, addInodes], want] of rows) {
    const r = refusalFor(quota(over), { bytes, inodes }, addBytes, addInodes, NOW, 7 * DAY);
    equal(r ? `${r.dimension} ${r.limitKind} ${r.limit}` : 'none', want, `row ${row}`);
  }
});

test('state and grace remaining (numbered rows)', () => {
  const rows: Array<[number, Partial<QuotaRecord>, [bigint, bigint], string, number | null]> = [
    [1, {}, [10n * GB, 0n], 'ok', null],
    [2, {}, [10n * GB + 1n, 0n], 'over soft', null],
    [3, { softExceededAt: ago(DAY) }, [11n * GB, 0n], 'in grace', 6 * DAY],
    [4, { softExceededAt: ago(DAY), graceMs: 3 * DAY }, [11n * GB, 0n], 'in grace', 2 * DAY],
    [5, { softExceededAt: ago(8 * DAY) }, [11n * GB, 0n], 'grace expired', 0],
    [6, { softExceededAt: ago(DAY) }, [12n * GB, 0n], 'over hard', 6 * DAY],
    [7, {}, [0n, 101n], 'over soft', null],
    [8, {}, [0n, 200n], 'over hard', null],
  ];
  for (const [row, over, [bytes, inodes], state, remaining] of rows) {
    const s = quotaState(quota(over), { bytes, inodes }, NOW, 7 * DAY);
    deepEqual([s.state, s.graceRemainingMs], [state, remaining], `row ${row}`);
  }
});

test('usage prints in the unit the limit was set in', () => {
  equal(usageText('bytes', 10n * GB + 1n, 10n * GB, 'GB'), 'usage=10GB/10GB');
  equal(usageText('bytes', 10n * 2n ** 30n, 10n * 2n ** 30n, 'GiB'), 'usage=10GiB/10GiB');
  equal(usageText('bytes', 10n * GB, 10n * GB, 'GiB'), 'usage=9.31GiB/9.31GiB');
  equal(usageText('bytes', 12_500_000_000n, 12n * GB, null), 'usage=12.5GB/12GB');
  equal(usageText('inodes', 5n, 4n, null), 'inodes=5/4');
  deepEqual([0, 999, 12_000, 3_723_000, 6 * DAY + 23 * 3_600_000 + 59_000, 2 * DAY].map(formatRemaining), [
    '0s',
    '<1s',
    '12s',
    '1h 2m',
    '6d 23h',
    '2d',
  ]);
});

test('the enforcer keeps the grace clock it set while an older database read comes back', async () => {
  let stored: QuotaRecord = quota({ softInodes: null, hardInodes: null });
  let release: () => void = () => {};
  const lines: string[] = [];
  const enforcer = new QuotaEnforcer({
    quotas: {
      list: async () => [{ ...stored }],
      setSoftExceededAt: (_k, _id, at) =>
        new Promise<void>((ok) => {
          release = () => {
            stored = { ...stored, softExceededAt: at };
            ok();
          };
        }),
      version: async () => null,
    },
    usage: async (kind, id) => ({ kind, id, bytes: 10n * GB + 1n, inodes: 0n }),
    allUsage: async () => [{ kind: 'uid', id: 1000, bytes: 10n * GB + 1n, inodes: 0n }],
    log: { warn: (_o, m) => void lines.push(m), error: (_o, m) => void lines.push(m) },
    defaultGraceMs: () => 7 * DAY,
    now: () => NOW,
  });
  await enforcer.refresh(); // finds usage over soft: starts the clock, its write still in flight
  deepEqual(lines, ['WARN: Soft quota exceeded for uid=1000 (usage=10GB/10GB)']);
  await enforcer.refresh(); // the database still says null
  equal(enforcer.quota('uid', 1000)?.softExceededAt?.getTime(), NOW);
  release();
  await enforcer.settled();
  await enforcer.refresh();
  equal(enforcer.quota('uid', 1000)?.softExceededAt?.getTime(), NOW);
  equal(lines.length, 1);

  // The gate refuses past hard from the table alone, without touching the database.
  let thrown: unknown;
  try {
    enforcer.check({
      uid: 1000,
      gid: 1000,
      addBytes: 2n * GB,
      addInodes: 0n,
      usage: (kind, id) => ({ kind, id, bytes: 10n * GB + 1n, inodes: 0n }),
    });
  } catch (e) {
    thrown = e;
  }
  equal(isFsError(thrown, 'EDQUOT'), true);
  equal(lines[1], 'ERROR: Hard quota exceeded for uid=1000 (usage=10GB/12GB)');
});

test('a poll reads the version token; the whole table and every usage only when it changed', async () => {
  // 2,000 quotas, one of them over soft with its clock running.
  const rows = Array.from({ length: 2000 }, (_, i) =>
    quota({ subjectId: 5000 + i, softInodes: null, hardInodes: null }),
  );
  rows[7] = { ...rows[7]!, softExceededAt: ago(DAY) };
  let version = 'v1';
  let now = NOW;
  const reads = { list: 0, allUsage: 0, usage: [] as number[], clocks: [] as Array<[number, Date | null]> };
  const bytes = new Map<number, bigint>([[5007, 11n * GB]]);
  const enforcer = new QuotaEnforcer({
    quotas: {
      list: async () => {
        reads.list++;
        return rows.map((r) => ({ ...r }));
      },
      setSoftExceededAt: async (_k, id, at) => {
        reads.clocks.push([id, at]);
        const i = rows.findIndex((r) => r.subjectId === id);
        rows[i] = { ...rows[i]!, softExceededAt: at };
        version = `after ${id}`;
      },
      version: async () => version,
    },
    usage: async (kind, id) => {
      reads.usage.push(id);
      return { kind, id, bytes: bytes.get(id) ?? 0n, inodes: 0n };
    },
    allUsage: async () => {
      reads.allUsage++;
      return [...bytes].map(([id, b]) => ({ kind: 'uid' as const, id, bytes: b, inodes: 0n }));
    },
    log: { warn() {}, error() {} },
    defaultGraceMs: () => 7 * DAY,
    now: () => now,
    fullPassMs: 60_000,
  });
  await enforcer.poll(); // the first poll is a full pass
  deepEqual([reads.list, reads.allUsage, reads.usage.length], [1, 1, 0]);

  // Nothing changed: no table, one usage read — the subject whose clock runs.
  for (let i = 0; i < 5; i++) await enforcer.poll();
  deepEqual([reads.list, reads.allUsage], [1, 1]);
  deepEqual(reads.usage, [5007, 5007, 5007, 5007, 5007]);

  // Back under soft (files deleted): the next poll stops the clock, and the change it wrote
  // brings a full pass on the poll after.
  bytes.set(5007, GB);
  await enforcer.poll();
  await enforcer.settled();
  deepEqual(reads.clocks, [[5007, null]]);
  equal(enforcer.quota('uid', 5007)?.softExceededAt, null);
  await enforcer.poll();
  deepEqual([reads.list, reads.allUsage], [2, 2]);
  reads.usage.length = 0;
  await enforcer.poll();
  deepEqual([reads.list, reads.usage.length], [2, 0], 'no clock runs: a poll reads only the token');

  // Usage that crossed soft where no gate saw it is found by the next full pass, at the latest
  // fullPassMs after the last.
  bytes.set(5100, 11n * GB);
  now += 59_000;
  await enforcer.poll();
  equal(enforcer.quota('uid', 5100)?.softExceededAt, null);
  now += 1_000;
  await enforcer.poll();
  await enforcer.settled();
  equal(reads.list, 3);
  equal(enforcer.quota('uid', 5100)?.softExceededAt?.getTime(), now);
  deepEqual(reads.clocks.at(-1), [5100, new Date(now)]);

  // A limit changed elsewhere (./cfs quota, another node) changes the token: read at the next poll.
  rows[3] = { ...rows[3]!, hardBytes: GB };
  version = 'v2';
  await enforcer.poll();
  equal(enforcer.quota('uid', 5003)?.hardBytes, GB);
});
