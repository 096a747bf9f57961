import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/types.ts';
import { printed, writeConfig } from './fixtures/config-file.ts';

const EXAMPLE = fileURLToPath(new URL('../../../../config/gateway.example.yaml', import.meta.url));

async function valid(lines: string[]): Promise<GatewayConfig> {
  const file = writeConfig(lines);
  const { config, problems } = await loadConfig(file);
  assert.deepEqual(printed(problems, file), []);
  assert.ok(config);
  return config;
}

describe('the shipped example', () => {
  test('row 1: config/gateway.example.yaml validates with no problem at all', async () => {
    const { config, problems } = await loadConfig(EXAMPLE);
    assert.deepEqual(printed(problems, EXAMPLE), []);
    assert.ok(config);
    assert.equal(config.configFile, EXAMPLE);
  });

  test('row 2: it listens on the runbook ports and serves one path over all three protocols', async () => {
    const { config } = await loadConfig(EXAMPLE);
    assert.ok(config);
    const ports = [
      config.nfs.bind,
      config.nfs.mountBind,
      config.s3.bind,
      config.smb.bind,
      config.health.bind,
    ];
    assert.deepEqual(
      ports.map((a) => a.port),
      [2049, 20048, 9000, 445, 8080],
    );
    assert.equal(config.nfs.exports[0]?.path, '/export');
    assert.equal(config.s3.root.path, '/export');
    assert.equal(config.smb.shares[0]?.path, '/export');
    assert.deepEqual(config.smb.shares[0]?.validGroups, ['claudefs-users']);
    assert.equal(config.s3.domain, 'gateway.claudefs.local');
  });
});

describe('defaults for absent keys', () => {
  test('row 3: an empty file is a working gateway with the runbook defaults, and says what that means', async () => {
    const file = writeConfig(['# nothing here']);
    // As validate-config reads it: the warning says what the defaults are.
    const { config, problems } = await loadConfig(file, { empty: 'warning' });
    assert.deepEqual(printed(problems, file), [
      'FILE:1:1: warning: the file sets no key: every key takes its default (state in /var/lib/claudefs, the runbook ports, /export shared read-write with every host over NFS)',
    ]);
    assert.ok(config);
    assert.equal(config.node.name, hostname());
    assert.equal(config.stateDir, '/var/lib/claudefs');
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.metadata, {
      kind: 'sqlite',
      url: 'sqlite:///var/lib/claudefs/meta.db',
      path: '/var/lib/claudefs/meta.db',
    });
    assert.deepEqual(config.transport, {
      kind: 'file',
      url: 'file:///var/lib/claudefs/data',
      path: '/var/lib/claudefs/data',
    });
    assert.deepEqual(
      [config.nfs.bind, config.nfs.mountBind, config.s3.bind, config.smb.bind, config.health.bind].map(
        (a) => a.text,
      ),
      ['0.0.0.0:2049', '0.0.0.0:20048', '0.0.0.0:9000', '0.0.0.0:445', '0.0.0.0:8080'],
    );
    assert.deepEqual(config.nfs.exports, [
      {
        path: '/export',
        clients: [{ kind: 'cidr', text: '0.0.0.0/0', family: 4, address: '0.0.0.0', prefix: 0 }],
        access: 'rw',
        squash: 'root',
        secure: false,
        anonUid: 65534,
        anonGid: 65534,
        mode: 0o1777,
        ownerUid: 0,
        ownerGid: 0,
      },
    ]);
    assert.deepEqual(config.smb.shares, [
      {
        name: 'export',
        path: '/export',
        validGroups: [],
        readOnly: false,
        guestOk: false,
        hostsAllow: [],
        appleExtensions: false,
        convertAppleDouble: true,
        timeMachine: false,
        mode: 0o1777,
        ownerUid: 0,
        ownerGid: 0,
      },
    ]);
    assert.deepEqual(config.s3.root, { path: '/export', mode: 0o1777, ownerUid: 0, ownerGid: 0 });
    assert.equal(config.s3.tls, undefined);
    assert.equal(config.s3.region, 'us-east-1');
    assert.deepEqual(
      [
        config.smb.domain,
        config.smb.workgroup,
        config.smb.requireSigning,
        config.smb.encryption,
        config.smb.mapToGuest,
        config.smb.durableHandleTimeoutMs,
      ],
      ['CLAUDEFS', 'CLAUDEFS', false, 'if_required', 'never', 60_000],
    );
    assert.deepEqual(config.health, { bind: config.health.bind, probeIntervalMs: 2_000 });
    assert.deepEqual(config.circuitBreaker, {
      failureThreshold: 5,
      resetTimeoutMs: 10_000,
      slowCallMs: 5_000,
    });
    assert.deepEqual(config.cache, { ttlMs: 1_000, maxEntries: 100_000 });
    assert.deepEqual(config.quota, { gracePeriodMs: 7 * 86_400_000 });
    assert.deepEqual(config.limits, { maxConnections: 1024 });
    assert.deepEqual(config.admin, { trustLoopback: true });
    assert.deepEqual(config.identity, { groupsFromHost: false });
    assert.deepEqual(config.durability, {
      metadata: 'sync',
      flushIntervalMs: 1000,
      groupCommitMaxDelayMs: 0,
    });
  });

  test('row 4: the backends follow state_dir when the file names none', async () => {
    const config = await valid(['node:', '  state_dir: /srv/cfs']);
    assert.equal(config.metadata.url, 'sqlite:///srv/cfs/meta.db');
    assert.equal(config.transport.url, 'file:///srv/cfs/data');
  });

  test('row 5: a relative state_dir is relative to the config file, not to the working directory', async () => {
    const file = writeConfig(['node: { state_dir: ./state }']);
    const { config } = await loadConfig(file);
    assert.ok(config);
    const dir = dirname(file);
    assert.equal(config.stateDir, join(dir, 'state'));
    assert.deepEqual(config.metadata, {
      kind: 'sqlite',
      url: `sqlite://${join(dir, 'state')}/meta.db`,
      path: join(dir, 'state', 'meta.db'),
    });
    assert.equal(config.transport.kind === 'file' && config.transport.path, join(dir, 'state', 'data'));
  });

  test('row 6: backends named in the file win over state_dir', async () => {
    const config = await valid([
      'node: { state_dir: /srv/cfs }',
      'metadata: { url: "postgres://gw@db-1:5432/claudefs" }',
      'transport: { url: "s3://cfs-data/gw-1" }',
    ]);
    assert.deepEqual(config.metadata, { kind: 'postgres', url: 'postgres://gw@db-1:5432/claudefs' });
    assert.deepEqual(config.transport, {
      kind: 's3',
      url: 's3://cfs-data/gw-1',
      bucket: 'cfs-data',
      prefix: 'gw-1',
    });
  });

  test('row 7: an empty section (`nfs:` with nothing under it) means all its defaults', async () => {
    const config = await valid(['nfs:', 's3:']);
    assert.equal(config.nfs.bind.port, 2049);
    assert.equal(config.s3.bind.port, 9000);
  });

  test('row 8: an export given only a path gets every other default', async () => {
    const config = await valid(['nfs:', '  exports:', '    - path: /projects']);
    assert.equal(config.nfs.exports.length, 1);
    assert.equal(config.nfs.exports[0]?.path, '/projects');
    assert.equal(config.nfs.exports[0]?.squash, 'root');
    assert.equal(config.nfs.exports[0]?.clients[0]?.text, '0.0.0.0/0');
  });
});

describe('values are converted to what the code needs', () => {
  const modes: [row: number, written: string, mode: number][] = [
    [9, 'mode: 1777', 0o1777],
    [10, 'mode: 755', 0o755],
    [11, 'mode: "0750"', 0o750],
    [12, 'mode: 0o2775', 0o2775],
  ];
  for (const [row, written, mode] of modes) {
    test(`row ${row}: ${written} is read as chmod reads it (0${mode.toString(8)})`, async () => {
      const config = await valid(['nfs:', '  exports:', '    - path: /export', `      ${written}`]);
      assert.equal(config.nfs.exports[0]?.mode, mode);
    });
  }

  test('row 13: durations become milliseconds', async () => {
    const config = await valid([
      'circuit_breaker: { reset_timeout: 30s }',
      'cache: { ttl: 250ms }',
      'quota: { grace_period: 2w }',
      'health: { probe_interval: 1m }',
      'durability: { metadata: async, flush_interval: 500ms, group_commit_max_delay: 2ms }',
    ]);
    assert.equal(config.circuitBreaker.resetTimeoutMs, 30_000);
    assert.equal(config.cache.ttlMs, 250);
    assert.equal(config.quota.gracePeriodMs, 14 * 86_400_000);
    assert.equal(config.health.probeIntervalMs, 60_000);
    assert.deepEqual(config.durability, {
      metadata: 'async',
      flushIntervalMs: 500,
      groupCommitMaxDelayMs: 2,
    });
  });

  test('row 14: addresses keep what was written beside host and port', async () => {
    const config = await valid(['nfs:', '  bind: "[::]:2049"', '  mount_bind: localhost:20048']);
    assert.deepEqual(config.nfs.bind, { host: '::', port: 2049, text: '[::]:2049' });
    assert.deepEqual(config.nfs.mountBind, { host: 'localhost', port: 20048, text: 'localhost:20048' });
  });

  test('row 15: export clients are parsed into networks and host patterns', async () => {
    const config = await valid([
      'nfs:',
      '  exports:',
      '    - { path: /export, clients: [10.0.0.0/8, "fd00::/8", 192.0.2.7, "*.lab.example"] }',
    ]);
    assert.deepEqual(config.nfs.exports[0]?.clients, [
      { kind: 'cidr', text: '10.0.0.0/8', family: 4, address: '10.0.0.0', prefix: 8 },
      { kind: 'cidr', text: 'fd00::/8', family: 6, address: 'fd00::', prefix: 8 },
      { kind: 'cidr', text: '192.0.2.7', family: 4, address: '192.0.2.7', prefix: 32 },
      { kind: 'host', text: '*.lab.example', pattern: '*.lab.example' },
    ]);
  });

  test('row 16: one path served by NFS, S3 and SMB together is fine', async () => {
    const config = await valid([
      'nfs: { exports: [{ path: /shared }] }',
      's3: { root: /shared }',
      'smb: { shares: [{ name: shared, path: /shared }] }',
    ]);
    assert.equal(config.nfs.exports[0]?.path, config.smb.shares[0]?.path);
  });
});
