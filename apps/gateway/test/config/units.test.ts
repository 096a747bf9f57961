import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDuration, formatSize, parseDuration, parseSize, UnitError } from '../../src/util/units.ts';

describe('parseSize', () => {
  const accepted: [row: number, text: string, bytes: bigint, unit: string][] = [
    [1, '10GB', 10_000_000_000n, 'GB'],
    [2, '10GiB', 10n * 2n ** 30n, 'GiB'],
    [3, '512M', 512_000_000n, 'MB'],
    [4, '512MB', 512_000_000n, 'MB'],
    [5, '512Mi', 512n * 2n ** 20n, 'MiB'],
    [6, '512MiB', 512n * 2n ** 20n, 'MiB'],
    [7, '4K', 4_000n, 'KB'],
    [8, '4kb', 4_000n, 'KB'],
    [9, '4KiB', 4096n, 'KiB'],
    [10, '2T', 2_000_000_000_000n, 'TB'],
    [11, '2TiB', 2n * 2n ** 40n, 'TiB'],
    [12, '1P', 10n ** 15n, 'PB'],
    [13, '1PiB', 2n ** 50n, 'PiB'],
    [14, '4096', 4096n, 'B'],
    [15, '4096B', 4096n, 'B'],
    [16, '1.5GB', 1_500_000_000n, 'GB'],
    [17, '0.5KiB', 512n, 'KiB'],
    [18, '10 gb', 10_000_000_000n, 'GB'],
    [19, '0', 0n, 'B'],
  ];
  for (const [row, text, bytes, unit] of accepted) {
    test(`row ${row}: ${text} is ${bytes} bytes in ${unit}`, () => {
      assert.deepEqual(parseSize(text), { bytes, unit });
    });
  }

  const refused: [row: number, text: string, message: RegExp][] = [
    [1, '-5GB', /negative/],
    [2, '', /empty/],
    [3, '   ', /empty/],
    [4, 'lots', /not a size/],
    [5, '10XB', /unknown unit 'XB'/],
    [6, '1.5B', /not a whole number of bytes/],
    [7, '0.3KiB', /not a whole number of bytes/],
    [8, '10GB5', /not a size/],
    [9, '1e3', /not a size/],
    [10, '100000PiB', /too large/],
  ];
  for (const [row, text, message] of refused) {
    test(`row ${row}: '${text}' is refused`, () => {
      assert.throws(
        () => parseSize(text),
        (e: unknown) => e instanceof UnitError && message.test(e.message),
      );
    });
  }
});

describe('formatSize', () => {
  const rows: [row: number, bytes: bigint, unit: string | undefined, text: string][] = [
    [1, 10_000_000_000n, 'GB', '10GB'],
    [2, 12_500_000_000n, 'GB', '12.5GB'],
    [3, 12_345_678_901n, 'GB', '12.35GB'],
    [4, 10n * 2n ** 30n, 'GiB', '10GiB'],
    [5, 1536n, 'KiB', '1.5KiB'],
    [6, 1_050_000_000n, 'gb', '1.05GB'],
    [7, 0n, 'GB', '0GB'],
    [8, 999n, undefined, '999B'],
    [9, 1536n, undefined, '1.54KB'],
    [10, 10_000_000_000n, undefined, '10GB'],
    [11, 3n * 10n ** 15n, undefined, '3PB'],
    [12, 1_999_999n, 'MB', '2MB'],
  ];
  for (const [row, bytes, unit, text] of rows) {
    test(`row ${row}: ${bytes} in ${unit ?? 'a human unit'} prints ${text}`, () => {
      assert.equal(formatSize(bytes, unit), text);
    });
  }

  test('row 13: the unit parseSize returns prints the quota back as the operator wrote it', () => {
    const { bytes, unit } = parseSize('20GB');
    assert.equal(`usage=${formatSize(bytes, unit)}/${formatSize(bytes, unit)}`, 'usage=20GB/20GB');
  });

  test('row 14: an unknown unit is refused', () => {
    assert.throws(() => formatSize(1n, 'XB'), UnitError);
  });
});

describe('parseDuration and formatDuration', () => {
  const accepted: [row: number, text: string, ms: number][] = [
    [1, '500ms', 500],
    [2, '10s', 10_000],
    [3, '5m', 300_000],
    [4, '1h', 3_600_000],
    [5, '7d', 604_800_000],
    [6, '1w', 604_800_000],
    [7, '1.5s', 1_500],
    [8, '0ms', 0],
    [9, '2S', 2_000],
    // Zero is zero in every unit: the one number that needs none.
    [17, '0', 0],
  ];
  for (const [row, text, ms] of accepted) {
    test(`row ${row}: ${text} is ${ms}ms`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }

  const refused: [row: number, text: string, message: RegExp][] = [
    [10, '10', /needs a unit/],
    [11, '-1s', /negative/],
    [12, '', /empty/],
    [13, 'soon', /not a duration/],
    [14, '3y', /unknown unit 'y'/],
    [15, '0.5ms', /whole number of milliseconds/],
    [16, '1h30m', /not a duration/],
  ];
  for (const [row, text, message] of refused) {
    test(`row ${row}: '${text}' is refused`, () => {
      assert.throws(
        () => parseDuration(text),
        (e: unknown) => e instanceof UnitError && message.test(e.message),
      );
    });
  }

  const printed: [row: number, ms: number, text: string][] = [
    [17, 0, '0ms'],
    [18, 999, '999ms'],
    [19, 1_500, '1.5s'],
    [20, 1_234, '1234ms'],
    [21, 90_000, '1.5m'],
    [22, 3_600_000, '1h'],
    [23, 604_800_000, '1w'],
    [24, 86_400_000 * 3, '3d'],
  ];
  for (const [row, ms, text] of printed) {
    test(`row ${row}: ${ms}ms prints ${text} and reads back the same`, () => {
      assert.equal(formatDuration(ms), text);
      assert.equal(parseDuration(text), ms);
    });
  }
});
