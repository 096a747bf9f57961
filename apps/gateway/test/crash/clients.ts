/**
 * The three clients the crash test drives a gateway process with, over real sockets: NFSv3
 * (ONC RPC over TCP, the test's own XDR from nfs-v3/wire.ts), SMB2/3 (smb/client.ts) and S3
 * (the AWS SDK). Each throws on any status but the ones its caller asks to see.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { MountProc, Mountstat3 } from '../../src/protocols/mount/codec.ts';
import { Nfsstat3, Proc, StableHow, statusName } from '../../src/protocols/nfs/v3/constants.ts';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import type { AuthSysCred } from '../../src/protocols/rpc/program.ts';
import { ACCESS, CMD, DISPOSITION, OPTION } from '../../src/protocols/smb/constants.ts';
import { NT_STATUS, ntStatusName } from '../../src/protocols/smb/deps.ts';
import { FILE_CLASS } from '../../src/protocols/smb/info/file-info.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { A, type Args, encode, R } from '../nfs-v3/wire.ts';
import { REGION } from '../s3/fixture.ts';
import {
  closeBody,
  createBody,
  fileIdOf,
  lockBody,
  type Reply,
  readBody,
  setInfoBody,
  TestClient,
  writeBody,
} from '../smb/client.ts';

/** Where the gateway listens and who the clients are: one user over all three protocols. */
export interface GatewayAccess {
  nfsPort: number;
  mountPort: number;
  s3Port: number;
  smbPort: number;
  user: string;
  password: string;
  uid: number;
  gid: number;
  accessKeyId: string;
  secret: string;
}

/** Calls on a loaded 2-core machine can be slow; none is expected to take this long. */
const CALL_TIMEOUT_MS = 60_000;

export class ProtocolError extends Error {}

// ---- NFSv3 -------------------------------------------------------------------------------------

export class NfsClient {
  private constructor(
    private readonly rpc: RpcClient,
    private readonly cred: AuthSysCred,
    readonly root: Buffer,
  ) {}

  /** MOUNT `path` (MNT over its own connection), then one NFS connection. */
  static async mount(a: GatewayAccess, path: string): Promise<NfsClient> {
    const cred: AuthSysCred = { flavor: 'sys', stamp: 0, machine: 'crash', uid: a.uid, gid: a.gid, gids: [] };
    const mount = await RpcClient.connect('127.0.0.1', a.mountPort, { timeoutMs: CALL_TIMEOUT_MS });
    let root: Buffer;
    try {
      const reply = await mount.call({
        prog: 100005,
        vers: 3,
        proc: MountProc.MNT,
        cred,
        args: new XdrWriter().string(path).toBuffer(),
      });
      const r = results(reply, 'MNT');
      const status = r.uint32('status');
      if (status !== Mountstat3.OK) throw new ProtocolError(`MNT ${path}: status ${status}`);
      root = Buffer.from(r.opaque(64, 'fh'));
    } finally {
      mount.close();
    }
    const rpc = await RpcClient.connect('127.0.0.1', a.nfsPort, { timeoutMs: CALL_TIMEOUT_MS });
    return new NfsClient(rpc, cred, root);
  }

  /** One call; its decoded reply, whatever the NFS status. */
  async call<T>(proc: number, args: Args, dec: (r: XdrReader) => T): Promise<T> {
    const reply = await this.rpc.call({ prog: 100003, vers: 3, proc, cred: this.cred, args: encode(args) });
    const r = results(reply, `NFS proc ${proc}`);
    const out = dec(r);
    r.end('reply');
    return out;
  }

  /** The handle of `name` in `dir`, or undefined when there is none. */
  async lookup(dir: Buffer, name: string): Promise<Buffer | undefined> {
    const r = await this.call(Proc.LOOKUP, A.lookup(dir, name), R.lookup);
    if (r.status === Nfsstat3.NOENT) return undefined;
    return ok(r, `LOOKUP ${name}`).fh;
  }

  async mustLookup(dir: Buffer, name: string): Promise<Buffer> {
    const fh = await this.lookup(dir, name);
    if (!fh) throw new ProtocolError(`LOOKUP ${name}: ${statusName(Nfsstat3.NOENT)}`);
    return fh;
  }

  /** A path of names below the mounted root, or undefined when a component is missing. */
  async walk(names: readonly string[]): Promise<Buffer | undefined> {
    let fh: Buffer | undefined = this.root;
    for (const name of names) {
      fh = await this.lookup(fh, name);
      if (!fh) return undefined;
    }
    return fh;
  }

  /** The directory `name` in `dir`, made (mode 0755) when missing. */
  async ensureDir(dir: Buffer, name: string): Promise<Buffer> {
    const found = await this.lookup(dir, name);
    if (found) return found;
    const r = ok(
      await this.call(Proc.MKDIR, A.mkdir(dir, name, { mode: 0o755 }), R.newObject),
      `MKDIR ${name}`,
    );
    return r.fh ?? this.mustLookup(dir, name);
  }

  /** CREATE GUARDED: a new empty file. */
  async create(dir: Buffer, name: string): Promise<Buffer> {
    const r = ok(
      await this.call(Proc.CREATE, A.create(dir, name, 'guarded', { mode: 0o644 }), R.newObject),
      `CREATE ${name}`,
    );
    return r.fh ?? this.mustLookup(dir, name);
  }

  async truncate(fh: Buffer, size: number): Promise<void> {
    ok(await this.call(Proc.SETATTR, A.setattr(fh, { size: BigInt(size) }), R.wccOnly), 'SETATTR size');
  }

  /** WRITE; resolves with how the server says it committed the data. */
  async write(fh: Buffer, offset: number, data: Buffer, stable: StableHow): Promise<StableHow> {
    const r = ok(await this.call(Proc.WRITE, A.write(fh, BigInt(offset), data, stable), R.write), 'WRITE');
    if (r.count !== data.length) throw new ProtocolError(`WRITE wrote ${r.count} of ${data.length} bytes`);
    return r.committed as StableHow;
  }

  async commit(fh: Buffer): Promise<void> {
    ok(await this.call(Proc.COMMIT, A.commit(fh), R.commit), 'COMMIT');
  }

  async rename(dir: Buffer, from: string, to: string): Promise<void> {
    ok(await this.call(Proc.RENAME, A.rename(dir, from, dir, to), R.rename), `RENAME ${from} ${to}`);
  }

  async remove(dir: Buffer, name: string): Promise<void> {
    ok(await this.call(Proc.REMOVE, A.remove(dir, name), R.wccOnly), `REMOVE ${name}`);
  }

  /** The whole file, read to EOF. */
  async readAll(fh: Buffer): Promise<Buffer> {
    const parts: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const r = ok(await this.call(Proc.READ, A.read(fh, BigInt(offset), 1 << 20), R.read), 'READ');
      parts.push(r.data!);
      offset += r.data!.length;
      if (r.eof || r.data!.length === 0) return Buffer.concat(parts);
    }
  }

  close(): void {
    this.rpc.close();
  }
}

function results(reply: Awaited<ReturnType<RpcClient['call']>>, what: string): XdrReader {
  if (reply.status !== 'accepted' || reply.stat !== AcceptStat.SUCCESS) {
    throw new ProtocolError(`${what}: RPC not successful: ${JSON.stringify(reply)}`);
  }
  return reply.results;
}

function ok<T extends { status: number }>(r: T, what: string): T {
  if (r.status !== Nfsstat3.OK) throw new ProtocolError(`${what}: ${statusName(r.status)}`);
  return r;
}

export { StableHow };

// ---- SMB2/3 ------------------------------------------------------------------------------------

const NOT_FOUND: ReadonlySet<number> = new Set([
  NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND,
  NT_STATUS.STATUS_OBJECT_PATH_NOT_FOUND,
]);

/** One logged-on SMB session with one tree connected. */
export class SmbSession {
  private constructor(private readonly c: TestClient) {}

  static async open(a: GatewayAccess, share: string): Promise<SmbSession> {
    const c = new TestClient(a.smbPort);
    await c.connect();
    try {
      status(await c.negotiate([0x0210, 0x0300]), 'NEGOTIATE');
      status(await c.logon(a.user, a.password), 'SESSION_SETUP');
      status(await c.treeConnect(share), 'TREE_CONNECT');
    } catch (e) {
      c.close();
      throw e;
    }
    return new SmbSession(c);
  }

  private async request(command: number, body: Buffer): Promise<Reply> {
    const messageId = this.c.nextMessageId;
    const done = this.c.wait(messageId, false, CALL_TIMEOUT_MS);
    this.c.sendFrame(this.c.build({ command, body }).msg);
    return done;
  }

  /** CREATE; the file id, or undefined when the name (or its directory) does not exist. */
  async create(
    path: string,
    o: { access: number; disposition: number; options?: number },
  ): Promise<Buffer | undefined> {
    const r = await this.request(
      CMD.CREATE,
      createBody(path, { ...o, options: (o.options ?? 0) | OPTION.NON_DIRECTORY_FILE }),
    );
    if (NOT_FOUND.has(r.status)) return undefined;
    return fileIdOf(status(r, `CREATE ${path}`));
  }

  async write(fileId: Buffer, offset: number, data: Buffer): Promise<void> {
    const r = status(await this.request(CMD.WRITE, writeBody(fileId, BigInt(offset), data)), 'WRITE');
    const count = r.body.readUInt32LE(4);
    if (count !== data.length) throw new ProtocolError(`WRITE wrote ${count} of ${data.length} bytes`);
  }

  /** FLUSH (MS-SMB2 §2.2.17): every earlier write to the open is durable when it succeeds. */
  async flush(fileId: Buffer): Promise<void> {
    const body = Buffer.alloc(24);
    body.writeUInt16LE(24, 0);
    fileId.copy(body, 8);
    status(await this.request(CMD.FLUSH, body), 'FLUSH');
  }

  /** SET_INFO FileEndOfFileInformation: the file's new size (a truncate, or an extension with zeros). */
  async setEndOfFile(fileId: Buffer, size: number): Promise<void> {
    const eof = Buffer.alloc(8);
    eof.writeBigUInt64LE(BigInt(size));
    status(
      await this.request(CMD.SET_INFO, setInfoBody(fileId, FILE_CLASS.END_OF_FILE, eof)),
      'SET_INFO end of file',
    );
  }

  async close(fileId: Buffer): Promise<void> {
    status(await this.request(CMD.CLOSE, closeBody(fileId)), 'CLOSE');
  }

  /**
   * LOCK of one range, failing at once on a conflict (flags: SMB2_LOCKFLAG_SHARED_LOCK 0x1 or
   * EXCLUSIVE_LOCK 0x2, with FAIL_IMMEDIATELY 0x10; UN_LOCK 0x4): the NT status.
   */
  async lockStatus(fileId: Buffer, offset: bigint, length: bigint, flags: number): Promise<number> {
    return (await this.request(CMD.LOCK, lockBody(fileId, [{ offset, length, flags }]))).status;
  }

  /** WRITE's NT status (a byte-range lock of another holder refuses it). */
  async writeStatus(fileId: Buffer, offset: number, data: Buffer): Promise<number> {
    return (await this.request(CMD.WRITE, writeBody(fileId, BigInt(offset), data))).status;
  }

  /** The whole file at `path`, or null when there is no such file. */
  async readFile(path: string): Promise<Buffer | null> {
    const fid = await this.create(path, { access: ACCESS.FILE_READ_DATA, disposition: DISPOSITION.OPEN });
    if (!fid) return null;
    const parts: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const r = await this.request(CMD.READ, readBody(fid, BigInt(offset), 64 * 1024));
      if (r.status === NT_STATUS.STATUS_END_OF_FILE) break;
      status(r, `READ ${path}`);
      const at = r.body[2]!;
      const length = r.body.readUInt32LE(4);
      parts.push(Buffer.from(r.raw.subarray(at, at + length)));
      offset += length;
      if (length === 0) break;
    }
    await this.close(fid);
    return Buffer.concat(parts);
  }

  end(): void {
    this.c.close();
  }
}

function status(r: Reply, what: string): Reply {
  if (r.status !== 0) throw new ProtocolError(`${what}: ${ntStatusName(r.status)}`);
  return r;
}

// ---- S3 ----------------------------------------------------------------------------------------

/** An SDK client that never retries: a request the SIGKILL cut off stays cut off. */
export function s3Client(a: GatewayAccess): S3Client {
  return new S3Client({
    endpoint: `http://127.0.0.1:${a.s3Port}`,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: a.accessKeyId, secretAccessKey: a.secret },
    maxAttempts: 1,
  });
}
