import { randomInt } from 'node:crypto';
import net from 'node:net';
import { loopTimeout } from '../../util/loop-stalls.ts';
import { type CallSpec, decodeReply, encodeCall, type RpcReply } from './message.ts';
import { frameRecord, RecordDecoder } from './record.ts';

/** Largest reply the client accepts (portmapper dumps, NLM results, health probes are small). */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

export interface RpcClientOptions {
  /** Connect timeout and default per-call timeout. */
  timeoutMs?: number;
  /** The local port to call from (below 1024 for an export that is `secure`; root only). */
  localPort?: number;
}

/**
 * A small ONC RPC client over TCP: many calls may be outstanding, replies are matched by xid.
 * The gateway uses it to talk to rpcbind, to probe its own listeners and to call NLM clients
 * back; tests use it as a hand-made client.
 */
export class RpcClient {
  private nextXid = randomInt(1, 0x7fff_ffff);
  private readonly pending = new Map<
    number,
    { resolve: (r: RpcReply) => void; reject: (e: Error) => void; cancel: () => void }
  >();
  private readonly decoder = new RecordDecoder(MAX_REPLY_BYTES);
  private closedWith: Error | undefined;

  private constructor(
    readonly socket: net.Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      try {
        for (let rec = this.decoder.next(); rec; rec = this.decoder.next()) this.onReply(rec);
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
      }
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(host: string, port: number, options: RpcClientOptions = {}): Promise<RpcClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true, localPort: options.localPort });
      const cancel = loopTimeout(timeoutMs, () => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      });
      socket.once('error', (e) => {
        cancel();
        reject(e);
      });
      socket.once('connect', () => {
        cancel();
        socket.removeAllListeners('error');
        resolve(new RpcClient(socket, timeoutMs));
      });
    });
  }

  /** One call; rejects on timeout or when the connection closes first. */
  call(spec: Omit<CallSpec, 'xid'>, timeoutMs = this.timeoutMs): Promise<RpcReply> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const xid = this.nextXid;
    this.nextXid = (this.nextXid + 1) >>> 0;
    return new Promise((resolve, reject) => {
      const cancel = loopTimeout(timeoutMs, () => {
        this.pending.delete(xid);
        reject(new Error(`RPC call ${spec.prog}/${spec.vers}/${spec.proc} timed out after ${timeoutMs} ms`));
      });
      this.pending.set(xid, { resolve, reject, cancel });
      this.socket.write(frameRecord(encodeCall({ ...spec, xid })));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onReply(record: Buffer): void {
    const reply = decodeReply(record);
    const p = this.pending.get(reply.xid);
    if (!p) return;
    this.pending.delete(reply.xid);
    p.cancel();
    p.resolve(reply);
  }

  private fail(e: Error): void {
    this.closedWith ??= e;
    for (const p of this.pending.values()) {
      p.cancel();
      p.reject(e);
    }
    this.pending.clear();
    this.socket.destroy();
  }
}

/**
 * Connects, makes one call, closes. `mark` sees the connected socket before the call is sent
 * (a health probe marks itself: ConnectionRegistry.ownProbe) and returns what undoes it.
 */
export async function rpcCallOnce(
  host: string,
  port: number,
  spec: Omit<CallSpec, 'xid'>,
  timeoutMs = 5000,
  mark?: (socket: net.Socket) => () => void,
): Promise<RpcReply> {
  const client = await RpcClient.connect(host, port, { timeoutMs });
  const unmark = mark?.(client.socket);
  try {
    return await client.call(spec, timeoutMs);
  } finally {
    client.close();
    unmark?.();
  }
}
