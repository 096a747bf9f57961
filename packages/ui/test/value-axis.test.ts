import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isolatedRows, valueAxis } from '../src/value-axis.ts';

test('round steps from zero, the top at or above the largest value', () => {
  assert.deepEqual(valueAxis(3.8).ticks, [0, 1, 2, 3, 4]);
  assert.deepEqual(valueAxis(100).ticks, [0, 25, 50, 75, 100]);
  assert.deepEqual(valueAxis(0.37).ticks, [0, 0.1, 0.2, 0.3, 0.4]);
  assert.deepEqual(valueAxis(1000).ticks, [0, 250, 500, 750, 1000]);
  assert.deepEqual(valueAxis(17).ticks, [0, 5, 10, 15, 20]);
  assert.deepEqual(valueAxis(50.5).ticks, [0, 20, 40, 60]);
});

test('nothing to draw (all zero, no data) still gives an axis', () => {
  assert.deepEqual(valueAxis(0), { ticks: [0, 1], top: 1 });
  assert.deepEqual(valueAxis(Number.NEGATIVE_INFINITY), { ticks: [0, 1], top: 1 });
});

test('a value alone between gaps is isolated; one beside another is part of a line', () => {
  const rows: Array<Record<string, number | null>> = [
    { v: null },
    { v: 5 },
    { v: null },
    { v: 1 },
    { v: 2 },
    {},
    { v: 3 },
  ];
  assert.deepEqual([...isolatedRows(rows, 'v')], [1, 6]);
  assert.deepEqual([...isolatedRows([{ v: 0 }], 'v')], [0]);
  assert.deepEqual([...isolatedRows([], 'v')], []);
});
