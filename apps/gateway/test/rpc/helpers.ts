import net from 'node:net';
import pino from 'pino';
import type { Logger } from '../../src/daemon/logger.ts';
import { ConnectionRegistry } from '../../src/ops/connections.ts';
import type { ConnectionLimits } from '../../src/protocols/rpc/connection.ts';
import type { ServedProgram } from '../../src/protocols/rpc/dispatch.ts';
import { DRC_DEFAULTS, DuplicateRequestCache } from '../../src/protocols/rpc/drc.ts';
import { RpcListener } from '../../src/protocols/rpc/listener.ts';
import { type CallSpec, encodeCall } from '../../src/protocols/rpc/message.ts';
import type { RpcProcedure, RpcProgram } from '../../src/protocols/rpc/program.ts';
import { frameRecord, RecordDecoder } from '../../src/protocols/rpc/record.ts';

export const silentLog: Logger = pino({ level: 'silent' });

export const TEST_PROG = 0x2000_0101;

export const TestProc = { NULL: 0, ECHO: 1, SLOW: 2, COUNT: 3, BOOM: 4, WHOAMI: 5 } as const;

/**
 * A program for testing the layer alone: NULL; ECHO (opaque in, same opaque out); SLOW
 * (uint32 ms, opaque: waits, then echoes); COUNT (non-idempotent: bumps a counter, returns
 * it); BOOM (throws a non-XDR error: SYSTEM_ERR); WHOAMI (the caller's AUTH_SYS uid, gid and
 * gids, as the procedure saw them).
 */
export function testProgram(): { program: RpcProgram; counter: () => number } {
  let count = 0;
  const procs = new Map<number, RpcProcedure>([
    [TestProc.NULL, { name: 'T_NULL', idempotent: true, handle: async (c) => c.args.end('void') }],
    [
      TestProc.ECHO,
      {
        name: 'T_ECHO',
        idempotent: true,
        handle: async (c, w) => {
          const data = c.args.opaque(1 << 30, 'data');
          c.args.end('echo args');
          w.opaqueByRef(data);
        },
      },
    ],
    [
      TestProc.SLOW,
      {
        name: 'T_SLOW',
        idempotent: true,
        handle: async (c, w) => {
          const ms = c.args.uint32('ms');
          const data = c.args.opaque(1 << 20, 'data');
          c.args.end('slow args');
          await new Promise((r) => setTimeout(r, ms));
          w.opaque(data);
        },
      },
    ],
    [
      TestProc.COUNT,
      {
        name: 'T_COUNT',
        idempotent: false,
        handle: async (c, w) => {
          const ms = c.args.uint32('ms');
          c.args.end('count args');
          count++;
          const mine = count;
          await new Promise((r) => setTimeout(r, ms));
          w.uint32(mine);
        },
      },
    ],
    [
      TestProc.WHOAMI,
      {
        name: 'T_WHOAMI',
        idempotent: true,
        handle: async (c, w) => {
          c.args.end('void');
          if (c.cred.flavor !== 'sys') throw new Error('WHOAMI needs AUTH_SYS');
          w.uint32(c.cred.uid).uint32(c.cred.gid).uint32(c.cred.gids.length);
          for (const g of c.cred.gids) w.uint32(g);
        },
      },
    ],
    [
      TestProc.BOOM,
      {
        name: 'T_BOOM',
        idempotent: true,
        handle: async (c) => {
          c.args.end('void');
          throw new Error('boom');
        },
      },
    ],
  ]);
  return {
    program: {
      prog: TEST_PROG,
      name: 'TEST',
      low: 1,
      high: 1,
      procedures: (v) => (v === 1 ? procs : undefined),
      acceptsFlavor: (flavor, proc) => proc === TestProc.NULL || flavor === 'sys',
    },
    counter: () => count,
  };
}

export interface TestServer {
  listener: RpcListener;
  registry: ConnectionRegistry;
  port: number;
  counter: () => number;
  close(): Promise<void>;
}

export async function startTestServer(
  o: { limits?: Partial<ConnectionLimits>; maxConnections?: number; extra?: ServedProgram[] } = {},
): Promise<TestServer> {
  const registry = new ConnectionRegistry(o.maxConnections ?? 1000);
  const { program, counter } = testProgram();
  const listener = new RpcListener({
    name: 'TEST',
    host: '127.0.0.1',
    port: 0,
    programs: [{ program }, ...(o.extra ?? [])],
    protocol: 'nfs',
    connections: registry,
    log: silentLog,
    drc: new DuplicateRequestCache(DRC_DEFAULTS),
    limits: o.limits,
  });
  await listener.listen();
  return { listener, registry, port: listener.port, counter, close: () => listener.close(1000) };
}

export const SYS_CRED = {
  flavor: 'sys' as const,
  stamp: 1,
  machine: 'tester',
  uid: 1000,
  gid: 1000,
  gids: [1000, 10],
};

export function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) b.writeUInt32BE(v >>> 0, i * 4);
  return b;
}

export function opaqueArg(data: Buffer): Buffer {
  const pad = (4 - (data.length % 4)) % 4;
  return Buffer.concat([u32(data.length), data, Buffer.alloc(pad)]);
}

export function callRecord(spec: CallSpec): Buffer {
  return frameRecord(encodeCall(spec));
}

/** A hand-driven TCP client: send any bytes, read whole records, see the close. */
export class RawClient {
  private readonly decoder = new RecordDecoder(64 * 1024 * 1024);
  private readonly records: Buffer[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.decoder.push(c);
      for (let r = this.decoder.next(); r; r = this.decoder.next()) this.records.push(r);
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, noDelay: true });
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next `n` reply records (rejects on close or timeout). */
  async read(n = 1, timeoutMs = 10_000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.records.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.records.length} of ${n} replies`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.records.length} of ${n} replies`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.records.splice(0, n);
  }

  /** Resolves true when the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed;
  }

  /** Replies received and not read yet. */
  get unread(): number {
    return this.records.length;
  }

  close(): void {
    this.socket.destroy();
  }
}
