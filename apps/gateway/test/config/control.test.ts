import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/types.ts';
import { printed, writeConfig } from './fixtures/config-file.ts';

async function valid(lines: string[]): Promise<GatewayConfig> {
  const file = writeConfig(lines);
  const { config, problems } = await loadConfig(file, { checkPorts: false });
  assert.deepEqual(printed(problems, file), []);
  assert.ok(config);
  return config;
}

async function problems(lines: string[]): Promise<string[]> {
  const file = writeConfig(lines);
  const result = await loadConfig(file, { checkPorts: false });
  return printed(result.problems, file);
}

/** Numbered rows: the file's lines, and the control backend they resolve to. */
const WHERE: Array<[row: number, what: string, lines: string[], control: GatewayConfig['control']]> = [
  [
    1,
    'by default, control.db in the state folder',
    ['node: { state_dir: /srv/cfs }'],
    { kind: 'sqlite', url: 'sqlite:///srv/cfs/control.db', path: '/srv/cfs/control.db' },
  ],
  [
    2,
    'with metadata on PostgreSQL, the same database in schema cfs_control',
    ['metadata: { url: "postgres://gw:pw@db-1:5432/claudefs?schema=meta" }'],
    { kind: 'postgres', url: 'postgres://gw:pw@db-1:5432/claudefs', schema: 'cfs_control' },
  ],
  [
    3,
    'an explicit PostgreSQL URL, its schema named by ?schema=',
    ['control:', '  url: "postgresql://gw@db-2/cluster?schema=ops_control"'],
    { kind: 'postgres', url: 'postgresql://gw@db-2/cluster?schema=ops_control', schema: 'ops_control' },
  ],
  [
    4,
    'an explicit SQLite file wins over the metadata PostgreSQL',
    ['metadata: { url: "postgres://db-1/claudefs" }', 'control: { url: "sqlite:///var/lib/cfs/control.db" }'],
    { kind: 'sqlite', url: 'sqlite:///var/lib/cfs/control.db', path: '/var/lib/cfs/control.db' },
  ],
];

describe('control.url: where the control plane lives', () => {
  for (const [row, what, lines, control] of WHERE) {
    test(`row ${row}: ${what}`, async () => {
      assert.deepEqual((await valid(lines)).control, control);
    });
  }

  test('row 5: an unknown scheme, a relative path and a bad schema name are problems on their line', async () => {
    assert.deepEqual(await problems(['control: { url: "mysql://db/cfs" }']), [
      "FILE:1:17 control.url: control URL scheme 'mysql' is not supported: use sqlite, postgres or postgresql",
    ]);
    assert.deepEqual(await problems(['control:', '  url: sqlite://control.db']), [
      "FILE:2:8 control.url: 'sqlite://control.db' needs an absolute path after sqlite://, e.g. sqlite:///var/lib/claudefs/control.db",
    ]);
    assert.deepEqual(await problems(['control:', '  url: "postgres://gw:pw@db/cfs?schema=a-b"']), [
      "FILE:2:8 control.url: schema 'a-b' in 'postgres://gw:***@db/cfs?schema=a-b' must be 1-63 letters, digits or _ (not starting with a digit)",
    ]);
  });
});

describe('node.heartbeat_interval: the node registry', () => {
  test('row 6: five seconds by default; a duration otherwise', async () => {
    assert.equal((await valid(['# nothing'])).node.heartbeatIntervalMs, 5000);
    assert.equal((await valid(['node: { heartbeat_interval: 500ms }'])).node.heartbeatIntervalMs, 500);
  });

  test('row 7: zero or no unit is refused', async () => {
    const zero = await problems(['node: { heartbeat_interval: 0s }']);
    assert.equal(zero.length, 1);
    assert.match(zero[0] ?? '', /^FILE:1:29 node\.heartbeat_interval: must be longer than 0ms$/);
    const bare = await problems(['node: { heartbeat_interval: 5 }']);
    assert.match(bare[0] ?? '', /^FILE:1:29 node\.heartbeat_interval: /);
  });
});
