/**
 * The one gateway the security suite attacks: NFSv3 (+ MOUNT), S3 and SMB over one namespace
 * and the ops port (admin API, tRPC) bound to every address, so a request can arrive from this
 * host's non-loopback address. It logs at the default level (info) into memory: a refusal the
 * suite finds there is one an operator finds in the journal. The logger redacts nothing, so a
 * secret absent from it was never handed to it.
 */
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { Protocol } from '../../src/config/types.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { MOUNT_PROG, MountProc, Mountstat3 } from '../../src/protocols/mount/codec.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import { decodeReply, encodeCall, type RpcReply } from '../../src/protocols/rpc/message.ts';
import type { AuthSysCred } from '../../src/protocols/rpc/program.ts';
import { frameRecord, RecordDecoder } from '../../src/protocols/rpc/record.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { type Args, encode } from '../nfs-v3/wire.ts';
import { REGION } from '../s3/fixture.ts';
import { startUnregistered } from '../support/gateway.ts';
import { freePorts } from '../support/ports.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { signIn, trpc } from '../trpc/fixture.ts';

const NFS_PROG = 100003;
const ADMIN_PASSWORD = 'security-Admin-pw-7';
/** The only client allowed on /private: another loopback address, so 127.0.0.1 is outside. */
export const PRIVATE_CLIENT = '127.0.0.2';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface Account {
  name: string;
  password: string;
  uid: number;
  gid: number;
  accessKeyId: string;
  secret: string;
}

export class SecurityGateway {
  private constructor(
    readonly gw: Gateway,
    readonly dir: string,
    readonly ports: { nfs: number; mount: number; s3: number; smb: number; ops: number },
    private readonly lines: string[],
    readonly alice: Account,
  ) {}

  static async start(): Promise<SecurityGateway> {
    const dir = makeTempDir('security');
    const [nfs, mount, s3, smb] = (await freePorts(4)) as [number, number, number, number];
    const [ops] = (await freePorts(1, '0.0.0.0')) as [number];
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `node: { name: gw-security, state_dir: ${dir}/state }
log_level: info
nfs:
  bind: 127.0.0.1:${nfs}
  mount_bind: 127.0.0.1:${mount}
  exports:
    - { path: /export, squash: root, mode: 1777 }
    - { path: /private, squash: root, clients: ["${PRIVATE_CLIENT}"], mode: 1777 }
s3: { bind: 127.0.0.1:${s3}, root: /export, region: ${REGION} }
smb: { bind: 127.0.0.1:${smb}, domain: CLAUDEFS, workgroup: CLAUDEFS, shares: [{ name: export, path: /export, mode: 1777 }] }
health: { bind: 0.0.0.0:${ops}, probe_interval: 1h }
`,
    );
    const { config, problems } = await loadConfig(file, { tls: 'warning' });
    if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
    process.env.CFS_ADMIN_PASSWORD = ADMIN_PASSWORD;
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const protocols: Protocol[] = ['nfs', 's3', 'smb'];
    const gw = new Gateway(config, protocols, log);
    await startUnregistered(gw);
    try {
      const alice = await addAccount(gw, 'alice', 'Alice-password-1');
      return new SecurityGateway(gw, dir, { nfs, mount, s3, smb, ops }, lines, alice);
    } catch (e) {
      await gw.stop();
      throw e;
    }
  }

  /** A user with a password (SMB) and an S3 key, and optionally a console role. */
  account(name: string, password: string, role?: 'viewer' | 'operator' | 'admin'): Promise<Account> {
    return addAccount(this.gw, name, password, role);
  }

  get s3Endpoint(): string {
    return `http://127.0.0.1:${this.ports.s3}`;
  }

  /** The ops port on loopback. */
  get opsUrl(): string {
    return `http://127.0.0.1:${this.ports.ops}`;
  }

  /** A console session of the bootstrap admin: the auditor reading the audit log. */
  async auditTrail(filter: { action?: string; outcome?: 'ok' | 'denied' | 'error' } = {}) {
    const cookie = await signIn(this.opsUrl, 'admin', ADMIN_PASSWORD);
    const page = await trpc<{ entries: Array<Record<string, unknown>> }>(
      this.opsUrl,
      'query',
      'audit.list',
      {
        ...filter,
        limit: 100,
      },
      { cookie },
    );
    if (page.status !== 200) throw new Error(`audit.list: ${page.status} ${page.error?.message}`);
    return page.data.entries as Array<{
      actor: string;
      action: string;
      target: string;
      outcome: string;
      detail: unknown;
      remoteAddr: string | null;
    }>;
  }

  /** Log lines at warn level or above since `mark` (an index from `logMark()`). */
  warnings(mark = 0): LogLine[] {
    return this.logLines(mark).filter((l) => l.level >= 40);
  }

  logLines(mark = 0): LogLine[] {
    return this.lines.slice(mark).map((l) => JSON.parse(l) as LogLine);
  }

  logMark(): number {
    return this.lines.length;
  }

  /** Everything logged, as text (to prove no secret reached the logger). */
  logText(): string {
    return this.lines.join('');
  }

  stop(): Promise<void> {
    return this.gw.stop();
  }
}

async function addAccount(
  gw: Gateway,
  name: string,
  password: string,
  role?: 'viewer' | 'operator' | 'admin',
): Promise<Account> {
  const u = await gw.control.users.add({ name, password, ...(role ? { role } : {}) });
  const k = await gw.control.s3Keys.create(name);
  return { name, password, uid: u.uid, gid: u.gid, accessKeyId: k.accessKeyId, secret: k.secret };
}

/** This host's first non-internal IPv4 address, if it has one. */
export function nonLoopbackIPv4(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export function authSys(uid: number, gid: number): AuthSysCred {
  return { flavor: 'sys', stamp: 0, machine: 'attacker', uid, gid, gids: [] };
}

/**
 * One ONC RPC call on a fresh TCP connection from `localAddress`, as a client on that host
 * would make it; resolves with the decoded reply.
 */
export function rpcOnce(
  port: number,
  call: { prog: number; vers: number; proc: number; cred: AuthSysCred; args: Buffer },
  localAddress = '127.0.0.1',
): Promise<RpcReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const decoder = new RecordDecoder();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no RPC reply from port ${port} within 20 s`));
    }, 20_000);
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      const record = decoder.next();
      if (!record) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(decodeReply(record));
    });
    socket.write(frameRecord(encodeCall({ xid: randomInt(1, 0x7fff_ffff), ...call })));
  });
}

function results(reply: RpcReply, what: string): XdrReader {
  if (reply.status !== 'accepted' || reply.stat !== AcceptStat.SUCCESS)
    throw new Error(`${what}: RPC not successful: ${JSON.stringify(reply)}`);
  return reply.results;
}

/** MOUNT `path` from `localAddress`: the export's root handle. */
export async function mountRoot(
  g: SecurityGateway,
  path: string,
  cred: AuthSysCred,
  localAddress?: string,
): Promise<Buffer> {
  const args = new XdrWriter().string(path).toBuffer();
  const reply = await rpcOnce(
    g.ports.mount,
    { prog: MOUNT_PROG, vers: 3, proc: MountProc.MNT, cred, args },
    localAddress,
  );
  const r = results(reply, `MNT ${path}`);
  const status = r.uint32('status');
  if (status !== Mountstat3.OK) throw new Error(`MNT ${path}: status ${status}`);
  return Buffer.from(r.opaque(64, 'fh'));
}

/** One NFSv3 call; resolves with the decoded result, whatever its nfsstat3. */
export async function nfsCall<T>(
  g: SecurityGateway,
  proc: number,
  args: Args,
  dec: (r: XdrReader) => T,
  cred: AuthSysCred,
  localAddress?: string,
): Promise<T> {
  const reply = await rpcOnce(
    g.ports.nfs,
    { prog: NFS_PROG, vers: 3, proc, cred, args: encode(args) },
    localAddress,
  );
  const r = results(reply, `NFS procedure ${proc}`);
  const out = dec(r);
  r.end('reply');
  return out;
}
