import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { NodeView } from '@claudefs/api';
import { freePorts } from '../support/ports.ts';
import { type PostgresServer, requirePostgres, startPostgres } from '../support/postgres.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { signIn, trpc } from '../trpc/fixture.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const ADMIN_PASSWORD = 'cluster-Admin-pw-42';
const ENV = { CFS_ADMIN_PASSWORD: ADMIN_PASSWORD };
/** Short, so `down` (3 silent intervals) comes quickly; no assertion depends on the timing. */
const HEARTBEAT = '300ms';
const DEADLINE_MS = 60_000;

interface Node {
  name: string;
  config: string;
  base: string;
  health: number;
  proc?: ProcessHandle;
}

/** A gateway serving S3 only, its metadata and data local, its control plane on the shared PostgreSQL. */
async function nodeConfig(name: string, controlUrl: string): Promise<Node> {
  const dir = makeTempDir(`cluster-${name}`);
  const [s3, health] = (await freePorts(2)) as [number, number];
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    [
      `node: { name: ${name}, state_dir: ${dir}/state, heartbeat_interval: ${HEARTBEAT} }`,
      `control: { url: "${controlUrl}" }`,
      'nfs: { enabled: false }',
      'smb: { enabled: false }',
      `s3: { bind: 127.0.0.1:${s3} }`,
      `health: { bind: 127.0.0.1:${health}, probe_interval: 200ms }`,
      '',
    ].join('\n'),
  );
  return { name, config, base: `http://127.0.0.1:${health}`, health };
}

async function start(node: Node): Promise<void> {
  node.proc = spawnProcess(CFS, ['gateway', 'start', '--config', node.config], { name: node.name, env: ENV });
  await node.proc.waitForLine(/gateway started/, DEADLINE_MS);
}

/** `./cfs gateway nodes` with this node's configuration; it reads the shared database, not a gateway. */
async function cfsNodes(node: Node, json: boolean) {
  const r = await runCommand(
    CFS,
    ['gateway', 'nodes', ...(json ? ['--json'] : []), '--config', node.config],
    {
      env: ENV,
      timeoutMs: DEADLINE_MS,
    },
  );
  assert.equal(r.code, 0, r.output);
  return r.stdout;
}

const cfsNodesJson = async (node: Node) => JSON.parse(await cfsNodes(node, true)) as Omit<NodeView, 'self'>[];

/** Polls until `check` passes on what `read` returns (generous deadline: a loaded 2-core machine). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await sleep(200);
  }
}

const byName = <T extends { name: string }>(nodes: T[]) => Object.fromEntries(nodes.map((n) => [n.name, n]));
const serving = (h: string | undefined) => h === 'healthy' || h === 'degraded';

describe('node registry: two gateways sharing one PostgreSQL control plane', requirePostgres(), () => {
  let pg: PostgresServer;
  let a: Node;
  let b: Node;
  let session: string;

  before(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    a = await nodeConfig('gw-a', url);
    b = await nodeConfig('gw-b', url);
    // One after the other: the first start creates the bootstrap admin the second one finds.
    await start(a);
    await start(b);
    // Signed in at B with the account A created: sessions and users are the cluster's.
    session = await signIn(b.base, 'admin', ADMIN_PASSWORD);
  });
  after(async () => {
    await Promise.all([a?.proc?.stop(), b?.proc?.stop()]);
    await pg?.destroy();
  });

  const listAt = async (node: Node) => {
    const r = await trpc<NodeView[]>(node.base, 'query', 'nodes.list', undefined, { cookie: session });
    assert.equal(r.status, 200, r.error?.message);
    return r.data;
  };

  test('1 both nodes register and report health; each knows which one it is', async () => {
    const nodes = await eventually(
      () => listAt(b),
      (ns) => ns.length === 2 && ns.every((n) => serving(n.health)),
      'both nodes serving',
    );
    assert.deepEqual(
      nodes.map((n) => [n.name, n.address, n.up, n.draining, n.self]),
      [
        ['gw-a', `127.0.0.1:${a.health}`, true, false, false],
        ['gw-b', `127.0.0.1:${b.health}`, true, false, true],
      ],
    );
    assert.ok(nodes.every((n) => n.heartbeatIntervalMs === 300 && n.version.length > 0));
    assert.deepEqual(
      (await listAt(a)).map((n) => [n.name, n.self]),
      [
        ['gw-a', true],
        ['gw-b', false],
      ],
    );
  });

  test('2 ./cfs gateway nodes lists both, as a table and as JSON', async () => {
    const table = (await cfsNodes(a, false)).trimEnd().split('\n');
    assert.match(
      table[0] ?? '',
      /^NAME +ADDRESS +VERSION +STARTED +LAST HEARTBEAT +HEALTH +DRAINING +CONFIG$/,
    );
    assert.match(
      table[1] ?? '',
      new RegExp(`^gw-a +127\\.0\\.0\\.1:${a.health} .* (healthy|degraded) +no +as started$`),
    );
    assert.match(
      table[2] ?? '',
      new RegExp(`^gw-b +127\\.0\\.0\\.1:${b.health} .* (healthy|degraded) +no +as started$`),
    );
    assert.equal(table.length, 3);
    const json = byName(await cfsNodesJson(b));
    assert.deepEqual(Object.keys(json), ['gw-a', 'gw-b']);
    assert.ok(json['gw-a']?.up && json['gw-b']?.up);
  });

  test('3 a drained node shows draining everywhere, its health apart from the drain', async () => {
    const drain = await runCommand(CFS, ['gateway', 'drain', '--timeout', '30s', '--config', b.config], {
      env: ENV,
      timeoutMs: DEADLINE_MS,
    });
    assert.equal(drain.code, 0, drain.output);
    const seen = await eventually(
      async () => byName(await listAt(a)),
      (ns) => ns['gw-b']?.draining === true,
      'gw-b draining, seen from gw-a',
    );
    assert.ok(serving(seen['gw-b']?.health), JSON.stringify(seen['gw-b']));
    assert.equal(seen['gw-a']?.draining, false);
    const table = await cfsNodes(a, false);
    assert.match(table, /^gw-b .* yes +as started$/m);
    assert.match(table, /^gw-a .* no +as started$/m);
  });

  test('4 PostgreSQL stopped under running gateways: they keep serving, and heartbeats resume by themselves', async () => {
    await pg.stop();
    for (const node of [a, b]) {
      await node.proc?.waitForLine(
        /node registry: heartbeat failed: control plane database .* is unavailable/,
        DEADLINE_MS,
      );
      const health = await fetch(`${node.base}/health`, { signal: AbortSignal.timeout(10_000) });
      assert.ok([200, 503].includes(health.status), `${node.name} /health answers`);
      assert.equal(node.proc?.child.exitCode, null, `${node.name} is still running`);
    }
    const down = await trpc(a.base, 'query', 'nodes.list', undefined, { cookie: session });
    assert.equal(down.status, 503, 'the console is told the control plane is unavailable');
    assert.match(down.error?.message ?? '', /^control plane database .* is unavailable: /);
    await pg.start();
    for (const node of [a, b]) {
      await node.proc?.waitForLine(/node registry: heartbeats reach the control plane again/, DEADLINE_MS);
    }
    const back = await listAt(a);
    assert.ok(
      back.every((n) => n.up),
      JSON.stringify(back),
    );
  });

  test('5 a node stopped cleanly shows stopped; one that dies shows down once its heartbeats stop', async () => {
    const stopped = await b.proc?.stop();
    assert.equal(stopped?.code, 0, b.proc?.output());
    const afterStop = byName(await cfsNodesJson(a));
    assert.deepEqual(
      [afterStop['gw-b']?.health, afterStop['gw-b']?.up],
      ['stopped', false],
      'the stop is recorded before the process exits',
    );
    assert.ok(afterStop['gw-a']?.up);

    // SIGKILL: no goodbye, only silence.
    process.kill(a.proc?.pid ?? -1, 'SIGKILL');
    await a.proc?.exited;
    const end = await eventually(
      async () => byName(await cfsNodesJson(b)),
      (ns) => ns['gw-a']?.health === 'down',
      'gw-a down',
    );
    assert.equal(end['gw-a']?.up, false);
    assert.equal(end['gw-b']?.health, 'stopped');
  });
});
