import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusVariant } from '../src/status-badge.tsx';

test('status words map to their colour variant', () => {
  assert.equal(statusVariant('healthy'), 'healthy');
  assert.equal(statusVariant('Degraded'), 'degraded');
  assert.equal(statusVariant('unhealthy'), 'unhealthy');
  assert.equal(statusVariant('half-open'), 'degraded');
  assert.equal(statusVariant('open'), 'unhealthy');
  assert.equal(statusVariant('pass'), 'healthy');
  assert.equal(statusVariant('warn'), 'degraded');
  assert.equal(statusVariant('fail'), 'unhealthy');
  assert.equal(statusVariant('accepting'), 'healthy');
  assert.equal(statusVariant('info'), 'unknown');
  assert.equal(statusVariant('something else'), 'unknown');
});
