import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

// From the repository root (where `npm test` runs) tsx finds no tsconfig and compiles JSX the
// classic way, to React.createElement: the component module needs React in scope.
(globalThis as { React?: typeof React }).React = React;
const { MeasuredView } = await import('../src/measured.tsx');
const { createElement } = React;

const text = (measured: Parameters<typeof MeasuredView>[0]['measured']) =>
  renderToStaticMarkup(createElement(MeasuredView, { measured }))
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/\s+/g, ' ')
    .trim();

test('sizes and durations read in their units, the exact byte count kept', () => {
  const t = text({ usedBytes: 3_000_006, softBytes: 512, graceMs: 604_800_000, p99Ms: 4.17, quietMs: 1500 });
  assert.match(t, /usedBytes 3\.0 MB \(3000006 B\)/);
  assert.match(t, /softBytes 512 B/);
  assert.match(t, /graceMs 7 d/);
  assert.match(t, /p99Ms 4\.17 ms/);
  assert.match(t, /quietMs 1\.5 s/);
});

test('no raw JSON: a list of records with lists inside is a table, an empty record reads none', () => {
  const t = text({
    shares: [{ share: 'export', path: '/export', validGroups: [], member: true }],
    'refused since start': {},
  });
  assert.doesNotMatch(t, /[{}[\]]/, t);
  assert.match(t, /share path validGroups member export \/export none yes/);
  assert.match(t, /refused since start none/);
});
