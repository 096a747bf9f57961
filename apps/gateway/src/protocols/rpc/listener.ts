import type { Socket } from 'node:net';
import type { Protocol } from '../../config/types.ts';
import type { Logger } from '../../daemon/logger.ts';
import type { ConnectionRegistry } from '../../ops/connections.ts';
import { createReadBufferServer } from '../../util/read-buffer-socket.ts';
import { Acceptor } from '../acceptor.ts';
import { CONNECTION_DEFAULTS, type ConnectionLimits, RpcConnection } from './connection.ts';
import { RpcDispatcher, type ServedProgram } from './dispatch.ts';
import type { DuplicateRequestCache } from './drc.ts';

export interface RpcListenerOptions {
  /** What the operator reads: "NFS", "MOUNT". */
  name: string;
  host: string;
  port: number;
  programs: ServedProgram[];
  protocol: Protocol;
  connections: ConnectionRegistry;
  log: Logger;
  drc?: DuplicateRequestCache;
  limits?: Partial<ConnectionLimits>;
}

/**
 * An ONC RPC server over TCP on one address: accepts connections (each registered in the
 * connection registry, refused at its limit), serves the given programs on them, and can stop
 * accepting (drain) while the open connections keep being served.
 */
export class RpcListener {
  private readonly acceptor: Acceptor;
  private readonly dispatcher: RpcDispatcher;
  private readonly limits: ConnectionLimits;
  readonly open = new Set<RpcConnection>();
  private closing = false;

  constructor(private readonly o: RpcListenerOptions) {
    this.limits = { ...CONNECTION_DEFAULTS, ...o.limits };
    this.dispatcher = new RpcDispatcher(o.programs, o.log, o.drc);
    // Each connection reads into its own buffer (big WRITEs otherwise cost full collections).
    const server = createReadBufferServer({ allowHalfOpen: true }, (s) => this.onSocket(s));
    this.acceptor = new Acceptor(server, { host: o.host, port: o.port, backlog: 1024 });
    server.on('error', (e) => {
      if (this.acceptor.isListening) o.log.error({ err: e, listener: o.name }, `${o.name} listener error`);
    });
  }

  get name(): string {
    return this.o.name;
  }

  get isListening(): boolean {
    return this.acceptor.isListening;
  }

  /** The bound port (the configured one, or the kernel's pick for port 0). */
  get port(): number {
    return this.acceptor.port;
  }

  get address(): string {
    const host = this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
    return `${host}:${this.port}`;
  }

  /** Calls in flight on every connection. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.open) n += c.calls;
    return n;
  }

  listen(): Promise<void> {
    return this.acceptor.listen();
  }

  /** Stops (false) or resumes (true) accepting connections; open ones are not touched. */
  setAccepting(accepting: boolean): Promise<void> {
    if (this.closing) return Promise.resolve();
    return this.acceptor.setAccepting(accepting);
  }

  /**
   * Stops accepting, lets calls in flight finish (at most `graceMs`), then closes every
   * connection — idle ones are not waited for.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    // Not awaited: net.Server's close waits for every connection, which this ends below.
    void this.acceptor.stop();
    const busy = [...this.open].filter((c) => c.calls > 0);
    if (busy.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(busy.map((c) => c.idle())),
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    // Replies just written still reach the client: end() flushes before the FIN.
    for (const c of this.open) c.socket.end();
    const linger = setTimeout(() => {
      for (const c of this.open) c.destroy();
    }, 500);
    linger.unref();
  }

  private onSocket(socket: Socket): void {
    socket.on('error', () => {});
    if (this.closing) {
      socket.destroy();
      return;
    }
    const conn = this.o.connections.accept(
      this.o.protocol,
      socket.remoteAddress ?? '',
      socket.remotePort ?? 0,
      socket.localPort ?? 0,
    );
    if (!conn) {
      // At the connection limit: refused at once (the registry counts it).
      socket.destroy();
      return;
    }
    conn.info.details.listener = this.o.name;
    const c = new RpcConnection(socket, conn, this.dispatcher, this.limits, this.o.log);
    this.open.add(c);
    socket.once('close', () => this.open.delete(c));
  }
}
