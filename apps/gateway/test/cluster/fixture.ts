import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { AuditEntryView, AuditPage, NodeView } from '@claudefs/api';
import { freePorts } from '../support/ports.ts';
import { type PostgresServer, sharedPostgres } from '../support/postgres.ts';
import {
  type ExitStatus,
  type ProcessHandle,
  type RunResult,
  runCommand,
  spawnProcess,
} from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { signIn, type TrpcReply, trpc } from '../trpc/fixture.ts';

/**
 * Several real gateway processes (`./cfs gateway start`) sharing one control plane on a real
 * PostgreSQL, each with its own state folder (its own SQLite metadata), node name and ports,
 * serving S3 only. Tests stop and start them by PID, as an operator restarts a service.
 */

export const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
export const ADMIN_PASSWORD = 'cluster-Admin-pw-77';
export const OPERATOR = { user: 'olive', password: 'olive-Operator-pw-1' } as const;
export const VIEWER = { user: 'val', password: 'val-Viewer-pw-1' } as const;
const ENV = { CFS_ADMIN_PASSWORD: ADMIN_PASSWORD };
/** Generous: a loaded 2-core machine starting several gateways and a browser. */
export const DEADLINE_MS = 60_000;

export interface ClusterNode {
  readonly name: string;
  readonly config: string;
  /** `http://127.0.0.1:<health port>`: /health, /admin, /trpc. */
  readonly base: string;
  readonly healthPort: number;
  readonly s3Port: number;
  proc: ProcessHandle | undefined;
  /** `./cfs gateway start` on this node's configuration; resolves once it says `gateway started`. */
  start(): Promise<void>;
  /** SIGTERM by PID (SIGKILL after 10 s): the clean stop `systemctl stop` makes. */
  stop(): Promise<ExitStatus | undefined>;
  /** SIGKILL by PID: a crash, no goodbye to the registry. */
  kill(): Promise<void>;
}

export interface TestCluster {
  pg: PostgresServer;
  controlUrl: string;
  nodes: ClusterNode[];
  node(name: string): ClusterNode;
  /** Session cookies, signed in at the first node (sessions are the cluster's). */
  cookies: { admin: string; operator: string; viewer: string };
  /** `./cfs <args> --config <node's file>`. */
  cfs(node: ClusterNode, ...args: string[]): Promise<RunResult>;
  /** nodes.list as the admin sees it through `at` (default the first node). */
  list(at?: ClusterNode): Promise<NodeView[]>;
  /** A tRPC mutation through `at`, signed in as `who`. */
  mutate<T = unknown>(
    at: ClusterNode,
    path: string,
    input: unknown,
    who: keyof TestCluster['cookies'],
  ): Promise<TrpcReply<T>>;
  /** The newest audit entries of one action, as the admin reads them. */
  audit(action: string): Promise<AuditEntryView[]>;
  stop(): Promise<void>;
}

/** Polls `read` until `check` passes on its value; fails naming `what` and the last value. */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  what: string,
  deadlineMs = DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

/** A TCP connection to a port: `open` (kept until closed) or `refused`. */
export function tcpConnect(port: number): Promise<{ state: 'open'; close(): void } | { state: 'refused' }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve({ state: 'open', close: () => socket.destroy() }));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') resolve({ state: 'refused' });
      else reject(e);
    });
  });
}

async function nodeFor(
  name: string,
  controlUrl: string,
  heartbeat: string | undefined,
): Promise<ClusterNode> {
  const dir = makeTempDir(`cluster-${name}`);
  const [s3Port, healthPort] = (await freePorts(2)) as [number, number];
  const config = join(dir, 'gateway.yaml');
  const interval = heartbeat ? `, heartbeat_interval: ${heartbeat}` : '';
  writeFileSync(
    config,
    [
      `node: { name: ${name}, state_dir: ${dir}/state${interval} }`,
      `control: { url: "${controlUrl}" }`,
      'nfs: { enabled: false }',
      'smb: { enabled: false }',
      `s3: { bind: 127.0.0.1:${s3Port} }`,
      `health: { bind: 127.0.0.1:${healthPort}, probe_interval: 200ms }`,
      '',
    ].join('\n'),
  );
  const node: ClusterNode = {
    name,
    config,
    base: `http://127.0.0.1:${healthPort}`,
    healthPort,
    s3Port,
    proc: undefined,
    async start() {
      node.proc = spawnProcess(CFS, ['gateway', 'start', '--config', config], { name, env: ENV });
      await node.proc.waitForLine(/gateway started/, DEADLINE_MS);
    },
    async stop() {
      const p = node.proc;
      node.proc = undefined;
      return p?.stop(10_000);
    },
    async kill() {
      const p = node.proc;
      node.proc = undefined;
      if (!p) return;
      process.kill(p.pid, 'SIGKILL');
      await p.exited;
    },
  };
  return node;
}

/**
 * Starts `names` one after the other (the first creates the bootstrap admin the others find),
 * adds an operator and a viewer, and signs all three in. `heartbeat` is node.heartbeat_interval
 * (default: the product's default, 5 s).
 */
export async function startCluster(names: string[], o: { heartbeat?: string } = {}): Promise<TestCluster> {
  const pg = await sharedPostgres();
  const controlUrl = await pg.createDatabase();
  const nodes: ClusterNode[] = [];
  for (const name of names) nodes.push(await nodeFor(name, controlUrl, o.heartbeat));
  for (const n of nodes) await n.start();
  const first = nodes[0] as ClusterNode;
  const cfs = (node: ClusterNode, ...args: string[]) =>
    runCommand(CFS, [...args, '--config', node.config], { env: ENV, timeoutMs: DEADLINE_MS });
  for (const [who, role] of [
    [OPERATOR, 'operator'],
    [VIEWER, 'viewer'],
  ] as const) {
    const r = await runCommand(
      CFS,
      ['user', 'add', who.user, '--role', role, '--password-stdin', '--config', first.config],
      { env: ENV, input: `${who.password}\n`, timeoutMs: DEADLINE_MS },
    );
    assert.equal(r.code, 0, r.output);
  }
  const cookies = {
    admin: await signIn(first.base, 'admin', ADMIN_PASSWORD),
    operator: await signIn(first.base, OPERATOR.user, OPERATOR.password),
    viewer: await signIn(first.base, VIEWER.user, VIEWER.password),
  };
  const node = (name: string) => {
    const n = nodes.find((x) => x.name === name);
    assert.ok(n, `no node ${name}`);
    return n;
  };
  return {
    pg,
    controlUrl,
    nodes,
    node,
    cookies,
    cfs,
    async list(at = first) {
      const r = await trpc<NodeView[]>(at.base, 'query', 'nodes.list', undefined, { cookie: cookies.admin });
      assert.equal(r.status, 200, r.error?.message);
      return r.data;
    },
    mutate: (at, path, input, who) => trpc(at.base, 'mutation', path, input, { cookie: cookies[who] }),
    async audit(action) {
      const up = nodes.find((n) => n.proc) ?? first;
      const r = await trpc<AuditPage>(
        up.base,
        'query',
        'audit.list',
        { action, limit: 20 },
        { cookie: cookies.admin },
      );
      assert.equal(r.status, 200, r.error?.message);
      return r.data.entries;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

export const byName = <T extends { name: string }>(list: T[]): Record<string, T> =>
  Object.fromEntries(list.map((n) => [n.name, n]));
