// The bench's table as an operator reads it: a ratio never reads as a target met beside MISSED.
import { equal, match } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printTable, ratioText } from '../../bench/table.ts';

describe('bench table', () => {
  it('1 ratios are cut to two decimals, not rounded up to a target', () => {
    // Session 23's S3 GET 4 KiB: 0.4951× of nginx, a "≥ 0.5×" target missed.
    equal(ratioText({ gateway: 21_603, peer: 43_636 }), '0.49×');
    equal(ratioText({ gateway: 1_300, peer: 350 }), '3.71×');
    // Exactly on a target stays on it (0.6 × 1049 is not exactly representable).
    equal(ratioText({ gateway: 0.6 * 1_049, peer: 1_049 }), '0.60×');
    equal(ratioText({ gateway: 498, peer: 498 }), '1.00×');
    equal(ratioText({ gateway: 1.08 }), '');
    // A peer whose run failed (the bench records 0) has no ratio, not "Infinity×".
    equal(ratioText({ gateway: 31_000, peer: 0 }), '');
  });

  it('2 the printed row shows the cut ratio beside MISSED', () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (s: string) => lines.push(...s.split('\n'));
    try {
      printTable('S3', [
        {
          workload: 'GET 4 KiB',
          gateway: 21_603,
          unit: 'req/s',
          peer: 43_636,
          peerName: 'nginx',
          target: '≥ 0.5× nginx',
          met: false,
        },
      ]);
    } finally {
      console.log = log;
    }
    const row = lines.find((l) => l.startsWith('GET 4 KiB'));
    match(row ?? '', /21,603 req\/s +43,636 req\/s \(nginx\) +0\.49× +≥ 0\.5× nginx +MISSED/);
  });
});
