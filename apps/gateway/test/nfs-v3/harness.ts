import { randomBytes } from 'node:crypto';
import type { NfsExport } from '../../src/config/types.ts';
import type { Connection } from '../../src/ops/connections.ts';
import type { ClientCheck } from '../../src/protocols/nfs/v3/exports-view.ts';
import { createNfsV3Program, type NfsV3Program } from '../../src/protocols/nfs/v3/program.ts';
import type { AuthSysCred, RpcCall, RpcCred } from '../../src/protocols/rpc/program.ts';
import { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import type { LedgerGate } from '../../src/storage/ledger-gate.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { type Args, decodeReply, encode } from './wire.ts';

export const ALICE: AuthSysCred = {
  flavor: 'sys',
  stamp: 1,
  machine: 'client',
  uid: 1000,
  gid: 1000,
  gids: [],
};
export const BOB: AuthSysCred = {
  flavor: 'sys',
  stamp: 1,
  machine: 'client',
  uid: 1001,
  gid: 1001,
  gids: [],
};
export const ROOT_CRED: AuthSysCred = {
  flavor: 'sys',
  stamp: 1,
  machine: 'client',
  uid: 0,
  gid: 0,
  gids: [],
};

export function nfsExport(e: Partial<NfsExport> & { path: string }): NfsExport {
  return {
    mode: 0o777,
    ownerUid: 0,
    ownerGid: 0,
    clients: [],
    access: 'rw',
    squash: 'root',
    secure: false,
    anonUid: 65534,
    anonGid: 65534,
    ...e,
  };
}

export interface HarnessOptions {
  exports?: NfsExport[];
  gate?: LedgerGate;
  breaker?: { failureThreshold: number; resetTimeoutMs: number };
  clients?: ClientCheck;
}

/** A namespace in a temp folder with the NFSv3 program over it, called without sockets. */
export class Harness {
  program!: NfsV3Program;
  readonly key = randomBytes(32);

  private constructor(
    readonly dir: string,
    public ns: OpenedNamespace,
    readonly exports: NfsExport[],
    private readonly o: HarnessOptions,
  ) {
    this.restart();
  }

  static async open(o: HarnessOptions = {}): Promise<Harness> {
    const dir = makeTempDir('nfs3');
    const exports = o.exports ?? [nfsExport({ path: '/export' })];
    const ns = await Harness.openNs(dir, o);
    for (const e of exports) await ns.ensureDirectory(e.path, e.mode, e.ownerUid, e.ownerGid);
    return new Harness(dir, ns, exports, o);
  }

  private static openNs(dir: string, o: HarnessOptions): Promise<OpenedNamespace> {
    return openNamespace({
      metadataUrl: `sqlite://${dir}/meta.db`,
      transportUrl: `file://${dir}/data`,
      gate: o.gate,
      breaker: o.breaker,
    });
  }

  /** A new program instance (as after a gateway restart): same key, a new write verifier. */
  restart(): void {
    this.program = createNfsV3Program({
      ns: this.ns,
      exports: this.exports,
      handleKey: this.key,
      clients: this.o.clients,
    });
  }

  /** Closes and opens the namespace again, then restarts the program on it. */
  async reopen(): Promise<void> {
    await this.ns.close();
    this.ns = await Harness.openNs(this.dir, this.o);
    this.restart();
  }

  root(i = 0): Promise<Buffer> {
    return this.program.handles.encodeRootHandle(i);
  }

  /** Runs a procedure on raw argument bytes; resolves with the reply body. */
  async raw(proc: number, args: Buffer, o: { cred?: RpcCred; address?: string } = {}): Promise<Buffer> {
    const { handled, reply } = this.start(proc, args, o);
    await handled;
    return reply.toBuffer();
  }

  /**
   * Starts a procedure as the RPC layer does: `handled` is what its handler returned (undefined
   * when it answered without a wait); the reply body is in `reply` once that settles.
   */
  start(
    proc: number,
    args: Buffer,
    o: { cred?: RpcCred; address?: string } = {},
  ): { handled: void | Promise<void>; reply: XdrWriter } {
    const p = this.program.procedures(3)?.get(proc);
    if (!p) throw new Error(`no procedure ${proc}`);
    const call: RpcCall = {
      xid: 1,
      prog: 100003,
      vers: 3,
      proc,
      cred: o.cred ?? ALICE,
      args: new XdrReader(args),
      remoteAddress: o.address ?? '127.0.0.1',
      remotePort: 1023,
      conn: {} as Connection,
    };
    const reply = new XdrWriter();
    return { handled: p.handle(call, reply), reply };
  }

  async call<T>(
    proc: number,
    args: Args,
    dec: (r: XdrReader) => T,
    o: { cred?: RpcCred; address?: string } = {},
  ): Promise<T> {
    return decodeReply(await this.raw(proc, encode(args), o), dec);
  }

  close(): Promise<void> {
    return this.ns.close();
  }
}
