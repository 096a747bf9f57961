import type net from 'node:net';
import type { Socket } from 'node:net';
import type { Protocol } from '../../config/types.ts';
import type { Logger } from '../../daemon/logger.ts';
import type { ConnectionRegistry } from '../../ops/connections.ts';
import { createReadBufferServer } from '../../util/read-buffer-socket.ts';
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
  private readonly server: net.Server;
  private readonly dispatcher: RpcDispatcher;
  private readonly limits: ConnectionLimits;
  readonly open = new Set<RpcConnection>();
  private listening = false;
  private closing = false;
  private boundPort = 0;

  constructor(private readonly o: RpcListenerOptions) {
    this.limits = { ...CONNECTION_DEFAULTS, ...o.limits };
    this.dispatcher = new RpcDispatcher(o.programs, o.log, o.drc);
    // Each connection reads into its own buffer (big WRITEs otherwise cost full collections).
    this.server = createReadBufferServer({ allowHalfOpen: true }, (s) => this.onSocket(s));
    this.server.on('error', (e) => {
      if (this.listening) o.log.error({ err: e, listener: o.name }, `${o.name} listener error`);
    });
  }

  get name(): string {
    return this.o.name;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** The bound port (the configured one, or the kernel's pick for port 0). */
  get port(): number {
    return this.boundPort || this.o.port;
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
    if (this.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen({ host: this.o.host, port: this.boundPort || this.o.port, backlog: 1024 }, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        if (a && typeof a === 'object') this.boundPort = a.port;
        this.listening = true;
        resolve();
      });
    });
  }

  /** Stops (false) or resumes (true) accepting connections; open ones are not touched. */
  async setAccepting(accepting: boolean): Promise<void> {
    if (this.closing) return;
    if (!accepting && this.listening) {
      this.stopListening();
    } else if (accepting && !this.listening) {
      await this.listen();
    }
  }

  /**
   * Stops accepting, lets calls in flight finish (at most `graceMs`), then closes every
   * connection — idle ones are not waited for.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    this.stopListening();
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

  /**
   * Closes the listening socket now. (net.Server's close callback would wait for every open
   * connection to end: a drain keeps them, and stop() ends them itself.)
   */
  private stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    this.server.close();
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
