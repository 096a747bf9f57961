/**
 * A gateway cluster for tests: N gateway processes (`./cfs gateway start`) sharing one
 * namespace — metadata (and the control plane) on a real PostgreSQL started for the test, file
 * data in one shared object store (another gateway serving S3, as test/data-s3 starts it) or a
 * shared folder — each node with its own state folder, name and loopback ports.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { openControlPlane } from '../../src/control/index.ts';
import { type GatewayAccess, NfsClient, s3Client } from '../crash/clients.ts';
import type { StoreServer } from '../data-s3/store-server.ts';
import { CFS } from '../quota/fixture.ts';
import { fetchText } from '../support/http.ts';
import { freePorts } from '../support/ports.ts';
import type { PostgresServer } from '../support/postgres.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { toolPath } from '../support/tools.ts';

export const ADMIN_PASSWORD = 'cluster-admin-password-1';
const PASSWORD = 'Cluster-test-pw-1';

export interface ClusterNode {
  name: string;
  configFile: string;
  access: GatewayAccess;
  opsPort: number;
  process?: ProcessHandle;
}

export interface Health {
  overall: string;
  checks: Array<{ name: string; status: string; message: string }>;
}

export class Cluster {
  private constructor(
    readonly dir: string,
    readonly metadataUrl: string,
    readonly nodes: ClusterNode[],
  ) {}

  /**
   * Writes each node's configuration (extra YAML appended: e.g. the transport), creates the
   * test user and its S3 key in the shared control plane, and starts every node.
   */
  static async start(pg: PostgresServer, count: number, store?: StoreServer): Promise<Cluster> {
    const dir = makeTempDir('cluster');
    const metadataUrl = await pg.createDatabase();
    const transport = store
      ? store.transportYaml('cluster')
      : `transport: { url: "file://${join(dir, 'shared-data')}" }`;
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < count; i++) {
      const name = `gw-${String.fromCharCode(97 + i)}`;
      const [nfs, mount, s3, smb, ops] = (await freePorts(5)) as [number, number, number, number, number];
      const configFile = join(dir, `${name}.yaml`);
      writeFileSync(
        configFile,
        `node: { name: ${name}, state_dir: ${dir}/${name} }
log_level: info
metadata: { url: "${metadataUrl}" }
${transport}
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [{ path: /export, squash: none }] }
s3: { bind: 127.0.0.1:${s3}, root: /export }
smb: { bind: 127.0.0.1:${smb}, shares: [{ name: export, path: /export, mode: 1777 }] }
health: { bind: 127.0.0.1:${ops}, probe_interval: 250ms }
circuit_breaker: { failure_threshold: 3, reset_timeout: 2s }
# Long enough that a node sees another's change only because it was told (LISTEN/NOTIFY).
cache: { ttl: 10m }
`,
      );
      nodes.push({
        name,
        configFile,
        opsPort: ops,
        access: {
          nfsPort: nfs,
          mountPort: mount,
          s3Port: s3,
          smbPort: smb,
          user: 'cluster',
          password: PASSWORD,
          uid: 0,
          gid: 0,
          accessKeyId: '',
          secret: '',
        },
      });
    }
    const first = nodes[0] as ClusterNode;
    const { config, problems } = await loadConfig(first.configFile, { checkPorts: false });
    if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
    const cp = await openControlPlane({ stateDir: config.stateDir, url: config.control.url });
    try {
      const u = await cp.users.add({ name: 'cluster', password: PASSWORD });
      const k = await cp.s3Keys.create('cluster');
      for (const n of nodes) {
        Object.assign(n.access, { uid: u.uid, gid: u.gid, accessKeyId: k.accessKeyId, secret: k.secret });
      }
    } finally {
      await cp.close();
    }
    const cluster = new Cluster(dir, metadataUrl, nodes);
    // One at a time: the first creates the schema, the others find it.
    for (const n of nodes) await cluster.startNode(n);
    return cluster;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  async startNode(n: ClusterNode): Promise<void> {
    const p = spawnProcess(CFS, ['gateway', 'start', '--config', n.configFile], {
      name: n.name,
      env: { CFS_ADMIN_PASSWORD: ADMIN_PASSWORD },
    });
    n.process = p;
    await p.waitForLine(/gateway started/, 90_000);
  }

  async stopNode(n: ClusterNode): Promise<void> {
    await n.process?.stop(10_000);
    n.process = undefined;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopNode(n)));
  }

  s3(n: ClusterNode) {
    return s3Client(n.access);
  }

  nfs(n: ClusterNode, path = '/export'): Promise<NfsClient> {
    return NfsClient.mount(n.access, path);
  }

  async health(n: ClusterNode): Promise<Health> {
    return JSON.parse((await fetchText(`http://127.0.0.1:${n.opsPort}/health`)).body) as Health;
  }

  /** gateway_circuit_breaker_state from the node's /metrics: 0 closed, 1 open, 2 half-open. */
  async circuitState(n: ClusterNode, backend: 'metadata' | 'transport'): Promise<number> {
    const text = (await fetchText(`http://127.0.0.1:${n.opsPort}/metrics`)).body;
    const m = new RegExp(`^gateway_circuit_breaker_state\\{backend="${backend}"\\} (\\d)`, 'm').exec(text);
    if (!m) throw new Error('no gateway_circuit_breaker_state in /metrics');
    return Number(m[1]);
  }

  /** libnfs's nfs-cat of a path below /export through the node: the bytes, or the failure. */
  async nfsCat(n: ClusterNode, path: string): Promise<{ code: number | null; data: Buffer; output: string }> {
    const url = `nfs://127.0.0.1/export/${path}?nfsport=${n.access.nfsPort}&mountport=${n.access.mountPort}&version=3&uid=${n.access.uid}&gid=${n.access.gid}`;
    const out = join(this.dir, `nfs-cat-${++this.cats}.out`);
    const r = await runCommand('sh', ['-c', `${toolPath('nfs-cat') ?? 'nfs-cat'} '${url}' > '${out}'`], {
      timeoutMs: 60_000,
    });
    return { code: r.code, data: r.code === 0 ? readFileSync(out) : Buffer.alloc(0), output: r.output };
  }
  private cats = 0;

  /** smbclient `-c commands` on the node's export share as the test user. */
  smbclient(n: ClusterNode, commands: string, cwd: string) {
    return runCommand(
      toolPath('smbclient') ?? 'smbclient',
      ['-p', String(n.access.smbPort), '//127.0.0.1/export', '-U', `cluster%${PASSWORD}`, '-c', commands],
      { cwd, timeoutMs: 60_000, env: { HOME: cwd } },
    );
  }

  /** `./cfs` with the node's configuration. */
  cfs(n: ClusterNode, args: string[]) {
    return runCommand(CFS, [...args, '--config', n.configFile], {
      timeoutMs: 60_000,
      env: { CFS_ADMIN_PASSWORD: ADMIN_PASSWORD },
    });
  }
}
