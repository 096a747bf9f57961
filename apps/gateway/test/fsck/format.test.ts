import { equal } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { modeString, octalMode } from '../../src/cli/format/mode.ts';
import { isoTime, lsTime, statTime } from '../../src/cli/format/time.ts';
import type { FileType } from '../../src/storage/types.ts';

process.env.TZ = 'UTC';

const T = 1_732_767_660_123_456_789n; // 2024-11-28 04:21:00.123456789 UTC

describe('formatting', () => {
  const modes: Array<[number, FileType, number, string, string]> = [
    [1, 'dir', 0o1777, 'drwxrwxrwt', '1777'],
    [2, 'dir', 0o1776, 'drwxrwxrwT', '1776'],
    [3, 'file', 0o644, '-rw-r--r--', '0644'],
    [4, 'file', 0o4755, '-rwsr-xr-x', '4755'],
    [5, 'file', 0o4644, '-rwSr--r--', '4644'],
    [6, 'file', 0o2755, '-rwxr-sr-x', '2755'],
    [7, 'dir', 0o2750, 'drwxr-s---', '2750'],
    [8, 'file', 0o2644, '-rw-r-Sr--', '2644'],
    [9, 'symlink', 0o777, 'lrwxrwxrwx', '0777'],
    [10, 'fifo', 0o600, 'prw-------', '0600'],
    [11, 'socket', 0o755, 'srwxr-xr-x', '0755'],
    [12, 'chardev', 0o666, 'crw-rw-rw-', '0666'],
    [13, 'blockdev', 0o660, 'brw-rw----', '0660'],
    [14, 'file', 0o7777, '-rwsrwsrwt', '7777'],
    [15, 'file', 0o7000, '---S--S--T', '7000'],
  ];
  for (const [row, type, mode, text, octal] of modes) {
    test(`1.${row} ${type} ${octal} is ${text}`, () => {
      equal(modeString(type, mode), text);
      equal(octalMode(mode), octal);
    });
  }

  const lsTimes: Array<[number, bigint, bigint, string]> = [
    [1, T, T + 3_600_000_000_000n, 'Nov 28 04:21'],
    [2, 1_672_876_800_000_000_000n, T, 'Jan  5  2023'],
    [3, T + 86_400_000_000_000n, T, 'Nov 29  2024'],
  ];
  for (const [row, ns, now, text] of lsTimes) {
    test(`2.${row} ls -l shows ${text}`, () => equal(lsTime(ns, now), text));
  }

  test('3 stat and JSON times keep nanoseconds; stat shows the local offset', () => {
    equal(statTime(T), '2024-11-28 04:21:00.123456789 +0000');
    equal(isoTime(T), '2024-11-28T04:21:00.123456789Z');
    equal(isoTime(-1n), '1969-12-31T23:59:59.999999999Z');
    process.env.TZ = 'Asia/Kolkata';
    try {
      equal(statTime(T), '2024-11-28 09:51:00.123456789 +0530');
    } finally {
      process.env.TZ = 'UTC';
    }
  });
});
