import net from 'node:net';
import { frameRecord, RecordDecoder } from '../../src/protocols/rpc/record.ts';
import type { Service } from './session.ts';

const MAX_RECORD = 64 * 1024 * 1024;

export interface RecordedExchange {
  conn: number;
  request: Buffer;
  reply: Buffer;
}

interface Conn {
  id: number;
  service: Service;
  client: string;
  downstream: net.Socket;
  upstream: net.Socket;
  closed: boolean;
}

/**
 * TCP proxies in front of the gateway's NFS and MOUNT listeners that record every call and
 * its reply, and let exactly one call (over all connections) be outstanding at the gateway:
 * a client's next call waits in the proxy until the previous reply is back. The gateway thus
 * sees the session in one total order, the same order the replay sends it in, so state-
 * dependent reply fields (sizes in wcc data, inode numbers, cookies) come out the same.
 * Calls are forwarded re-framed as single-fragment records; bodies are kept without marking.
 */
export class SerialRecordingProxy {
  readonly exchanges: RecordedExchange[] = [];
  readonly connections: Array<{ id: number; service: Service; client: string }> = [];
  /** Labels the connections opened from now on (the client command being run). */
  client = '';
  private readonly servers: net.Server[] = [];
  private readonly queue: Array<{ conn: Conn; request: Buffer }> = [];
  private inFlight: { conn: Conn; request: Buffer; xid: number } | undefined;
  private failure: Error | undefined;
  private nextId = 1;

  private constructor(private readonly gatewayPorts: Record<Service, number>) {}

  /** Proxies for both services; `ports` are the proxies' own. */
  static async start(gatewayPorts: Record<Service, number>): Promise<{
    proxy: SerialRecordingProxy;
    ports: Record<Service, number>;
  }> {
    const proxy = new SerialRecordingProxy(gatewayPorts);
    const ports = { NFS: await proxy.listen('NFS'), MOUNT: await proxy.listen('MOUNT') };
    return { proxy, ports };
  }

  /** Throws what went wrong in the proxy (a reply out of order, a gateway hang-up mid-call). */
  check(): void {
    if (this.failure) throw this.failure;
    if (this.inFlight || this.queue.length > 0) throw new Error('calls are still outstanding');
  }

  close(): Promise<void> {
    for (const s of this.servers) s.close();
    return Promise.resolve();
  }

  private listen(service: Service): Promise<number> {
    const server = net.createServer((downstream) => this.accept(service, downstream));
    this.servers.push(server);
    return new Promise((resolve) =>
      server.listen({ host: '127.0.0.1', port: 0 }, () =>
        resolve((server.address() as net.AddressInfo).port),
      ),
    );
  }

  private accept(service: Service, downstream: net.Socket): void {
    const upstream = net.connect({ host: '127.0.0.1', port: this.gatewayPorts[service], noDelay: true });
    downstream.setNoDelay(true);
    const conn: Conn = {
      id: this.nextId++,
      service,
      client: this.client,
      downstream,
      upstream,
      closed: false,
    };
    this.connections.push({ id: conn.id, service, client: conn.client });
    const calls = new RecordDecoder(MAX_RECORD);
    const replies = new RecordDecoder(MAX_RECORD);
    downstream.on('data', (chunk: Buffer) => {
      calls.push(Buffer.from(chunk));
      try {
        for (let r = calls.next(); r; r = calls.next()) this.queue.push({ conn, request: r });
      } catch (e) {
        this.fail(e as Error);
      }
      this.pump();
    });
    upstream.on('data', (chunk: Buffer) => {
      replies.push(Buffer.from(chunk));
      try {
        for (let r = replies.next(); r; r = replies.next()) this.onReply(conn, r);
      } catch (e) {
        this.fail(e as Error);
      }
    });
    const end = () => {
      conn.closed = true;
      // Calls a closed client left queued are never sent; one already at the gateway is
      // answered and recorded (the gateway acted on it), then the upstream side closes.
      for (let i = this.queue.length - 1; i >= 0; i--)
        if (this.queue[i]!.conn === conn) this.queue.splice(i, 1);
      if (this.inFlight?.conn !== conn) upstream.destroy();
      downstream.destroy();
      this.pump();
    };
    downstream.on('close', end);
    downstream.on('error', end);
    upstream.on('close', () => {
      if (this.inFlight?.conn === conn)
        this.fail(new Error(`the gateway closed ${service} connection ${conn.id} mid-call`));
      downstream.destroy();
    });
    upstream.on('error', () => upstream.destroy());
  }

  private pump(): void {
    if (this.inFlight || this.failure) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = { ...next, xid: next.request.readUInt32BE(0) };
    next.conn.upstream.write(frameRecord(next.request));
  }

  private onReply(conn: Conn, reply: Buffer): void {
    const call = this.inFlight;
    const xid = reply.readUInt32BE(0);
    if (!call || call.conn !== conn || call.xid !== xid) {
      throw new Error(`reply xid ${xid} on connection ${conn.id} answers no call in flight`);
    }
    this.inFlight = undefined;
    this.exchanges.push({ conn: conn.id, request: call.request, reply });
    if (conn.closed) conn.upstream.destroy();
    else conn.downstream.write(frameRecord(reply));
    this.pump();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const s of this.servers) s.close();
  }
}
