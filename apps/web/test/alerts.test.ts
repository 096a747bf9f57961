import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricsSnapshot, ProtocolSnapshot } from '@claudefs/api';
import { alertsFor } from '../lib/alerts.ts';

const quiet: ProtocolSnapshot = {
  requestsTotal: 0,
  errorsTotal: 0,
  requestsPerSec: 0,
  errorsPerSec: 0,
  errorRatio: null,
  p99Ms: null,
  activeConnections: 0,
  refusedTotal: 0,
};

const GiB = 1024 ** 3;

/** A quiet gateway whose metadata disk has `metadataLeft` of 100 GiB left, and its data disk 50 %. */
function snapshot(metadataLeft: number): MetricsSnapshot {
  const cache = { hits: 0, misses: 0, hitRatio: null, entries: 0 };
  return {
    at: 1_000_000,
    protocols: { nfs: quiet, s3: quiet, smb: quiet },
    connections: { active: 0, max: 100, refusedTotal: 0 },
    caches: { attributes: cache, entries: cache },
    backends: {
      metadata: { state: 'closed', errorsTotal: 0 },
      transport: { state: 'closed', errorsTotal: 0 },
    },
    draining: false,
    durability: { metadata: 'sync', flushIntervalMs: null },
    disks: [
      {
        backend: 'metadata',
        folder: '/var/lib/claudefs',
        totalBytes: 100 * GiB,
        availableBytes: metadataLeft * 100 * GiB,
      },
      { backend: 'transport', folder: '/srv/data', totalBytes: 100 * GiB, availableBytes: 50 * GiB },
    ],
  };
}

test('a backend disk with less than 15 % left is a warning, under 5 % critical, both sent to the backend wizard', () => {
  assert.deepEqual(alertsFor(snapshot(0.2), []), []);
  const [low] = alertsFor(snapshot(0.1), []);
  assert.deepEqual(
    [low?.id, low?.severity, low?.tree, low?.title],
    ['disk-metadata', 'warning', 'backend', 'Metadata disk 10.0% free'],
  );
  assert.match(low!.detail, /^\/var\/lib\/claudefs has .* left of .* \(the runbook alerts under 15%\)/);
  const [full] = alertsFor(snapshot(0.01), []);
  assert.equal(full?.severity, 'critical');
});
