import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { QuotaRecord } from '../../src/control/index.ts';
import { refusalFor } from '../../src/ops/quota/limits.ts';
import { explainDimension } from '../../src/ops/trpc/quota-explain.ts';

const GB = 10n ** 9n;
const DAY = 86_400_000;
const NOW = Date.parse('2024-06-10T00:00:00Z');

function quota(q: Partial<QuotaRecord>): QuotaRecord {
  return {
    kind: 'uid',
    subjectId: 1000,
    softBytes: null,
    hardBytes: null,
    softInodes: null,
    hardInodes: null,
    softUnit: null,
    hardUnit: null,
    graceMs: null,
    softExceededAt: null,
    updatedAt: new Date(NOW),
    ...q,
  };
}

const limits = { softBytes: 10n * GB, hardBytes: 12n * GB, softUnit: 'GB', hardUnit: 'GB' };

/** [row, case, quota, used bytes, blocked, limit kind, headroom, arithmetic] */
const ROWS: Array<
  [number, string, QuotaRecord, bigint, boolean, 'hard' | 'soft' | null, string | null, RegExp]
> = [
  [
    1,
    'under soft',
    quota(limits),
    3n * GB,
    false,
    null,
    String(9n * GB),
    /^usage 3GB ≤ soft 10GB, hard 12GB: 9GB more can be added$/,
  ],
  [
    2,
    'at soft exactly (not over)',
    quota(limits),
    10n * GB,
    false,
    null,
    String(2n * GB),
    /^usage 10GB ≤ soft 10GB/,
  ],
  [
    3,
    'over soft, clock not started',
    quota(limits),
    11n * GB,
    false,
    null,
    String(GB),
    /^usage 11GB > soft 10GB: the grace clock \(7d\) starts at the gateway's next check; hard 12GB leaves 1GB more$/,
  ],
  [
    4,
    'over soft, in grace',
    quota({ ...limits, softExceededAt: new Date(NOW - DAY) }),
    11n * GB,
    false,
    null,
    String(GB),
    /^usage 11GB > soft 10GB: in grace, 6d left \(until 2024-06-16T00:00:00.000Z\), then growth is refused; hard 12GB leaves 1GB more$/,
  ],
  [
    5,
    'over soft, grace expired',
    quota({ ...limits, softExceededAt: new Date(NOW - 8 * DAY) }),
    11n * GB,
    true,
    'soft',
    '0',
    /^usage 11GB \+ 1 byte > soft 10GB, over soft since 2024-06-02T00:00:00.000Z and the grace period \(7d\) ended at 2024-06-09T00:00:00.000Z: .* refused \(EDQUOT\) until usage is back to 10GB or less$/,
  ],
  [
    6,
    'at hard',
    quota({ ...limits, softExceededAt: new Date(NOW - DAY) }),
    12n * GB,
    true,
    'hard',
    '0',
    /^usage 12GB \+ 1 byte > hard 12GB: a change that adds bytes is refused \(EDQUOT\) until usage drops below 12GB$/,
  ],
  [
    7,
    'hard only, in another unit',
    quota({ hardBytes: 2n ** 30n, hardUnit: 'GiB' }),
    2n ** 29n,
    false,
    null,
    String(2n ** 29n),
    /^usage 0.5GiB ≤ hard 1GiB: 0.5GiB more can be added$/,
  ],
  [8, 'no byte limit at all', quota({ hardInodes: 10n }), 5n * GB, false, null, null, /^no byte limit$/],
  [
    8.5,
    'a usage far below the limits’ unit reads in its own, not as 0',
    quota(limits),
    3_000_006n,
    false,
    null,
    String(12n * GB - 3_000_006n),
    /^usage 3MB ≤ soft 10GB, hard 12GB: /,
  ],
  [
    9,
    'own grace period of 1 h, run out',
    quota({ ...limits, graceMs: 3_600_000, softExceededAt: new Date(NOW - 2 * 3_600_000) }),
    10n * GB + 1n,
    true,
    'soft',
    '0',
    /grace period \(1h\) ended/,
  ],
];

describe('"why was I blocked": the arithmetic agrees with the enforcing gate', () => {
  for (const [row, name, q, used, blocked, limitKind, headroom, arithmetic] of ROWS) {
    test(`${row} ${name}`, () => {
      const usage = { bytes: used, inodes: 0n };
      const e = explainDimension(q, usage, 'bytes', NOW, 7 * DAY);
      assert.equal(e.blocked, blocked);
      assert.equal(e.blocked, refusalFor(q, usage, 1n, 0n, NOW, 7 * DAY) !== undefined, 'the gate decides');
      assert.equal(e.limitKind, limitKind);
      assert.equal(e.headroom, headroom);
      assert.equal(e.used, String(used));
      assert.match(e.arithmetic, arithmetic);
    });
  }

  test('10 inodes: a new file at the hard inode limit is refused', () => {
    const q = quota({ softInodes: 5n, hardInodes: 10n });
    const e = explainDimension(q, { bytes: 0n, inodes: 10n }, 'inodes', NOW, 7 * DAY);
    assert.equal(e.blocked, true);
    assert.match(
      e.arithmetic,
      /^usage 10 \+ 1 inode > hard 10: a change that adds files or directories is refused/,
    );
  });
});
