/**
 * One gateway in this process serving NFSv3 (+ MOUNT), S3 and SMB over one namespace on free
 * loopback ports, one user known to all three, and a hand-made client per protocol that
 * returns the protocol's own status instead of throwing: the fault and connection tests read
 * exactly what a client would see.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/load.ts';
import type { Protocol } from '../../src/config/types.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger, type Logger } from '../../src/daemon/logger.ts';
import { MOUNT_PROG, MountProc, Mountstat3 } from '../../src/protocols/mount/codec.ts';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import type { AuthSysCred } from '../../src/protocols/rpc/program.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import type { NamespaceStores } from '../../src/storage/open.ts';
import { type Args, encode } from '../nfs-v3/wire.ts';
import { REGION } from '../s3/fixture.ts';
import type { Account } from '../security/gateway.ts';
import { TestClient } from '../smb/client.ts';
import { startUnregistered } from '../support/gateway.ts';
import { fetchText } from '../support/http.ts';
import { freePorts } from '../support/ports.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export const NFS_PROG = 100003;
const CALL_TIMEOUT_MS = 60_000;

export interface RigOptions {
  /** Appended to the configuration (YAML). */
  extraYaml?: string;
  /** Background probes (they drive the breakers); '1h' keeps them out of a test's way. */
  probeInterval?: string;
  /** Folder of meta.db (default: the state folder). */
  metadataDir?: string;
  /** The data folder (default: <state>/data). */
  dataDir?: string;
  wrapStores?: (stores: NamespaceStores) => NamespaceStores;
  /** The gateway's logger (default: errors only, to nowhere a test reads). */
  log?: Logger;
}

export interface Health {
  overall: string;
  checks: Array<{ name: string; status: string; message: string; duration_ms: number }>;
}

export class Rig {
  readonly user: ClientUser = {
    name: 'rig',
    password: 'Rig-password-1',
    uid: 0,
    gid: 0,
    accessKeyId: '',
    secret: '',
  };

  private constructor(
    readonly gw: Gateway,
    readonly dir: string,
    readonly ports: { nfs: number; mount: number; s3: number; smb: number; ops: number },
  ) {}

  static async start(o: RigOptions = {}): Promise<Rig> {
    const dir = makeTempDir('rig');
    const [nfs, mount, s3, smb, ops] = (await freePorts(5)) as [number, number, number, number, number];
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `node: { name: gw-rig, state_dir: ${dir}/state }
log_level: error
metadata: { url: "sqlite://${o.metadataDir ?? `${dir}/state`}/meta.db" }
transport: { url: "file://${o.dataDir ?? `${dir}/state/data`}" }
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [{ path: /export, squash: none }] }
s3: { bind: 127.0.0.1:${s3}, root: /export, region: ${REGION} }
smb: { bind: 127.0.0.1:${smb}, domain: CLAUDEFS, workgroup: CLAUDEFS, shares: [{ name: export, path: /export, mode: 1777 }] }
health: { bind: 127.0.0.1:${ops}, probe_interval: ${o.probeInterval ?? '100ms'} }
${o.extraYaml ?? ''}
`,
    );
    const { config, problems } = await loadConfig(file, { tls: 'warning' });
    if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
    process.env.CFS_ADMIN_PASSWORD ??= 'rig-admin-password-1';
    const protocols: Protocol[] = ['nfs', 's3', 'smb'];
    const gw = new Gateway(config, protocols, o.log ?? createLogger('error', { pretty: false }));
    gw.wrapStores = o.wrapStores;
    await startUnregistered(gw);
    const rig = new Rig(gw, dir, { nfs, mount, s3, smb, ops });
    try {
      const u = await gw.control.users.add({ name: rig.user.name, password: rig.user.password });
      const k = await gw.control.s3Keys.create(rig.user.name);
      Object.assign(rig.user, { uid: u.uid, gid: u.gid, accessKeyId: k.accessKeyId, secret: k.secret });
    } catch (e) {
      await gw.stop();
      throw e;
    }
    return rig;
  }

  get opsUrl(): string {
    return `http://127.0.0.1:${this.ports.ops}`;
  }

  /** /health as JSON, whatever its HTTP status (503 when unhealthy). */
  async health(): Promise<Health> {
    return JSON.parse((await fetchText(`${this.opsUrl}/health`)).body) as Health;
  }

  async check(name: string): Promise<Health['checks'][number]> {
    const c = (await this.health()).checks.find((x) => x.name === name);
    if (!c) throw new Error(`/health has no check named ${name}`);
    return c;
  }

  nfs(): Promise<NfsSession> {
    return connectNfs(this.ports, this.user);
  }

  smb(): Promise<TestClient> {
    return connectSmb(this.ports.smb, this.user);
  }

  s3(): S3Client {
    return s3Client(this.ports.s3, this.user);
  }

  stop(): Promise<void> {
    return this.gw.stop();
  }
}

/** Who a client is: a user with a password (SMB) and an S3 key, known to NFS by uid/gid. */
export type ClientUser = Account;

/** MOUNT /export, then an NFS connection with the user's AUTH_SYS credential. */
export async function connectNfs(
  ports: { nfs: number; mount: number },
  user: ClientUser,
  machine = 'rig',
): Promise<NfsSession> {
  const cred: AuthSysCred = { flavor: 'sys', stamp: 0, machine, uid: user.uid, gid: user.gid, gids: [] };
  const mount = await RpcClient.connect('127.0.0.1', ports.mount, { timeoutMs: CALL_TIMEOUT_MS });
  let root: Buffer;
  try {
    const r = results(
      await mount.call({
        prog: MOUNT_PROG,
        vers: 3,
        proc: MountProc.MNT,
        cred,
        args: new XdrWriter().string('/export').toBuffer(),
      }),
      'MNT',
    );
    const status = r.uint32('status');
    if (status !== Mountstat3.OK) throw new Error(`MNT /export: status ${status}`);
    root = Buffer.from(r.opaque(64, 'fh'));
  } finally {
    mount.close();
  }
  const rpc = await RpcClient.connect('127.0.0.1', ports.nfs, { timeoutMs: CALL_TIMEOUT_MS });
  return new NfsSession(rpc, cred, root);
}

/** An SMB session: NEGOTIATE, NTLMv2 logon, TREE_CONNECT to `export`. */
export async function connectSmb(port: number, user: ClientUser): Promise<TestClient> {
  const c = new TestClient(port);
  await c.connect();
  const steps: Array<[string, () => Promise<{ status: number }>]> = [
    ['NEGOTIATE', () => c.negotiate([0x0210, 0x0300])],
    ['SESSION_SETUP', () => c.logon(user.name, user.password)],
    ['TREE_CONNECT', () => c.treeConnect('export')],
  ];
  for (const [what, step] of steps) {
    const r = await step();
    if (r.status !== 0) {
      c.close();
      throw new Error(`${what}: status 0x${r.status.toString(16)}`);
    }
  }
  return c;
}

/** An SDK client that never retries: a test sees the first answer. */
export function s3Client(port: number, user: ClientUser): S3Client {
  return new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secret },
    maxAttempts: 1,
  });
}

/** An NFSv3 connection: each call returns its decoded reply, whatever the nfsstat3. */
export class NfsSession {
  constructor(
    readonly rpc: RpcClient,
    private readonly cred: AuthSysCred,
    readonly root: Buffer,
  ) {}

  async call<T>(proc: number, args: Args, dec: (r: XdrReader) => T): Promise<T> {
    const reply = await this.rpc.call({ prog: NFS_PROG, vers: 3, proc, cred: this.cred, args: encode(args) });
    const r = results(reply, `NFS procedure ${proc}`);
    const out = dec(r);
    r.end('reply');
    return out;
  }

  close(): void {
    this.rpc.close();
  }
}

function results(reply: Awaited<ReturnType<RpcClient['call']>>, what: string): XdrReader {
  if (reply.status !== 'accepted' || reply.stat !== AcceptStat.SUCCESS) {
    throw new Error(`${what}: RPC not successful: ${JSON.stringify(reply)}`);
  }
  return reply.results;
}
