import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HealthCheck, HealthReport } from '@claudefs/api';
import { checkWord, healthWord, problemChecks } from '../lib/health.ts';

const check = (name: string, status: HealthCheck['status'], message = ''): HealthCheck => ({
  name,
  status,
  message,
  duration_ms: 1,
});

/** /health of a drained gateway, as drain/feature.ts reports it. */
const drained = (metadata: HealthCheck['status']): HealthReport => ({
  overall: 'unhealthy',
  checks: [
    check('metadata', metadata, metadata === 'healthy' ? '' : 'database is locked'),
    check('transport', 'healthy'),
    check('gateway', 'unhealthy', 'draining'),
    check('nfs', 'unhealthy', 'draining'),
  ],
  timestamp: 1,
  draining: true,
});

test('a planned drain reads "draining", not unhealthy, and names no failing check', () => {
  const r = drained('healthy');
  assert.equal(healthWord(r), 'draining');
  assert.deepEqual(problemChecks(r), []);
  assert.deepEqual(
    r.checks.map((c) => checkWord(r, c)),
    ['healthy', 'healthy', 'draining', 'draining'],
  );
});

test('during a drain, a failing backend still reads as what it is', () => {
  const r = drained('unhealthy');
  assert.equal(healthWord(r), 'unhealthy');
  assert.deepEqual(
    problemChecks(r).map((c) => c.name),
    ['metadata'],
  );
});

test('without a drain, a check that happens to say "draining" is not excused', () => {
  const r: HealthReport = { ...drained('healthy'), draining: false };
  assert.equal(healthWord(r), 'unhealthy');
  assert.equal(checkWord(r, r.checks[2]!), 'unhealthy');
  assert.equal(problemChecks(r).length, 2);
});
