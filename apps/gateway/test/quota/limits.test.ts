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
    },
    usage: async (kind, id) => ({ kind, id, bytes: 10n * GB + 1n, inodes: 0n }),
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
