import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeAxis } from '../src/time-axis.ts';

const local = (h: number, m: number, s = 0) => new Date(2026, 11, 1, h, m, s).getTime();

test('two and a half minutes after a start: half-minute ticks, labelled to the second, none repeated', () => {
  const axis = timeAxis(local(1, 19, 44), local(1, 22, 12));
  assert.equal(axis.step, 60_000 / 2);
  assert.deepEqual(axis.ticks, [
    local(1, 20),
    local(1, 20, 30),
    local(1, 21),
    local(1, 21, 30),
    local(1, 22),
  ]);
  const labels = axis.ticks.map(axis.label);
  assert.equal(new Set(labels).size, labels.length, labels.join(', '));
  assert.match(labels[1] ?? '', /20.30/);
});

test('a quarter of an hour: whole five minutes, labelled hours and minutes', () => {
  const axis = timeAxis(local(13, 2, 5), local(13, 17, 5));
  assert.equal(axis.step, 5 * 60_000);
  assert.deepEqual(axis.ticks, [local(13, 5), local(13, 10), local(13, 15)]);
  assert.doesNotMatch(axis.label(local(13, 5)), /05.00/);
});

test('an hour: quarter hours; never more ticks than asked for, all inside the window', () => {
  const axis = timeAxis(local(9, 0, 3), local(10, 0, 3));
  assert.equal(axis.step, 15 * 60_000);
  assert.deepEqual(axis.ticks, [local(9, 15), local(9, 30), local(9, 45), local(10, 0)]);
  for (const [min, max] of [
    [local(0, 0), local(0, 0, 5)],
    [local(0, 0, 1), local(23, 59)],
    [local(5, 5, 5), local(5, 41, 7)],
  ] as const) {
    const { ticks } = timeAxis(min, max, 5);
    assert.ok(ticks.length >= 1 && ticks.length <= 5, `${ticks.length} ticks`);
    assert.ok(ticks.every((t) => t >= min && t <= max));
  }
});

test('one sample: its own moment is the tick', () => {
  const t = local(7, 7, 7);
  assert.deepEqual(timeAxis(t, t).ticks, [t]);
});
