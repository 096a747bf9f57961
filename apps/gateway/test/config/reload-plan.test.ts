import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { changeText, planReload, RELOAD_COVERS } from '../../src/config/reload-plan.ts';
import type { GatewayConfig } from '../../src/config/types.ts';
import { makeCertificates } from './fixtures/certificates.ts';
import { writeConfig } from './fixtures/config-file.ts';

async function config(lines: string[]): Promise<GatewayConfig> {
  const { config, problems } = await loadConfig(writeConfig(lines));
  assert.deepEqual(problems, []);
  assert.ok(config);
  return config;
}

const keys = (changes: Array<{ setting: string }>) => changes.map((c) => c.setting);

describe('what a reload applies and what waits for a restart (config/reload-plan.ts)', () => {
  test('1 the same file: no change, the running configuration as it was', async () => {
    const running = await config(['log_level: info']);
    const plan = planReload(running, await config(['log_level: info']));
    assert.deepEqual([plan.applied, plan.pendingRestart], [[], []]);
    assert.deepEqual(plan.config, running);
  });

  test('2 live settings are taken; settings bound at start keep their running values and are listed', async () => {
    const running = await config(['log_level: info', 'cache: { ttl: 1s }', 'nfs: { bind: 0.0.0.0:2049 }']);
    const loaded = await config([
      'log_level: debug',
      'cache: { ttl: 5s, max_entries: 10 }',
      'nfs: { bind: 0.0.0.0:3049 }',
      'durability: { metadata: async }',
      'limits: { max_connections: 7 }',
    ]);
    const plan = planReload(running, loaded);
    assert.deepEqual(keys(plan.applied), [
      'log_level',
      'limits.max_connections',
      'cache.ttl',
      'cache.max_entries',
    ]);
    assert.deepEqual(plan.pendingRestart.map(changeText), [
      'nfs.bind: 0.0.0.0:2049 -> 0.0.0.0:3049',
      'durability.metadata: sync -> async',
    ]);
    assert.equal(plan.config.logLevel, 'debug');
    assert.equal(plan.config.cache.ttlMs, 5000);
    assert.equal(plan.config.limits.maxConnections, 7);
    assert.deepEqual(plan.config.nfs.bind, running.nfs.bind);
    assert.equal(plan.config.durability.metadata, 'sync');
    // The running configuration itself is not modified.
    assert.equal(running.cache.ttlMs, 1000);
  });

  test('3 a database URL is shown without its password', async () => {
    const running = await config(['metadata: { url: "postgres://cfs:old-secret@db1:5432/cfs" }']);
    const loaded = await config(['metadata: { url: "postgres://cfs:new-secret@db2:5432/cfs" }']);
    const text = planReload(running, loaded).pendingRestart.map(changeText).join('\n');
    assert.match(
      text,
      /metadata\.url: postgres:\/\/cfs:\*\*\*@db1:5432\/cfs -> postgres:\/\/cfs:\*\*\*@db2:5432\/cfs/,
    );
    assert.doesNotMatch(text, /secret/);
  });

  test('4 exports are matched by path and shares by name (any case): an insertion is one change', async () => {
    const running = await config([
      'nfs: { exports: [{ path: /a }, { path: /b, access: ro }] }',
      'smb: { shares: [{ name: Data, path: /a }] }',
    ]);
    const loaded = await config([
      'nfs: { exports: [{ path: /new, clients: [10.0.0.0/8] }, { path: /a }, { path: /b, access: rw, mode: 700 }] }',
      'smb: { shares: [{ name: DATA, path: /a, read_only: true }, { name: more, path: /b, valid_groups: [staff] }] }',
    ]);
    const plan = planReload(running, loaded);
    assert.deepEqual(plan.applied.map(changeText), [
      'nfs.exports.0: (none) -> /new (rw, clients 10.0.0.0/8, squash root)',
      'nfs.exports.2.access: ro -> rw',
      'nfs.exports.2.mode: 1777 -> 0700 (used when the gateway creates the directory; an existing one is left as it is)',
      'smb.shares.0.read_only: false -> true',
      'smb.shares.1: (none) -> more = /b, valid_groups staff',
    ]);
    assert.deepEqual(
      plan.config.nfs.exports.map((e) => e.path),
      ['/new', '/a', '/b'],
    );
    const removed = planReload(loaded, running).applied.map(changeText);
    assert.ok(
      removed.includes('nfs.exports: /new (rw, clients 10.0.0.0/8, squash root) -> (removed)'),
      removed.join('\n'),
    );
    assert.ok(removed.includes('smb.shares: more = /b, valid_groups staff -> (removed)'), removed.join('\n'));
  });

  test('5 every value of a resolved configuration is one the reload plan compares', async () => {
    const certs = makeCertificates();
    // Every optional value present, so the walk sees it.
    const c = await config([
      'metadata: { url: "postgres://cfs:pw@db:5432/cfs" }',
      `transport: { url: "s3://bucket/prefix", endpoint: "http://store:9000", access_key_id: AK, secret_access_key_file: ${certs.good.key} }`,
      `s3: { domain: gateway.claudefs.local, tls: { cert: ${certs.good.cert}, key: ${certs.good.key} } }`,
    ]);
    for (const present of [c.objectStore.endpoint, c.objectStore.accessKeyId, c.s3.domain, c.s3.tls])
      assert.ok(present !== undefined);
    const covered = (path: string[]) =>
      RELOAD_COVERS.some((p) => p.length <= path.length && p.every((k, i) => path[i] === k));
    const missing: string[] = [];
    const walk = (v: unknown, path: string[]) => {
      if (covered(path)) return;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
      } else missing.push(path.join('.'));
    };
    walk(c, []);
    assert.deepEqual(missing, []);
  });
});
