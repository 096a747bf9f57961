import type net from 'node:net';

export interface AcceptorAddress {
  host: string;
  port: number;
  backlog: number;
}

/**
 * A protocol's listening socket: it can stop accepting connections (a drain) and start again
 * while the connections it accepted keep being served, and it stops for good once. The NFS,
 * MOUNT, S3 and SMB listeners share it; each keeps its own connections.
 */
export class Acceptor {
  private listening = false;
  private accepting = true;
  private stopped = false;
  private boundPort = 0;

  constructor(
    readonly server: net.Server,
    private readonly where: AcceptorAddress,
  ) {}

  get isListening(): boolean {
    return this.listening;
  }

  /** The bound port: the configured one, or the kernel's pick for port 0. */
  get port(): number {
    return this.boundPort || this.where.port;
  }

  /** Why no connection is accepted now, in the health check's words; undefined when listening. */
  get notListening(): string | undefined {
    if (this.listening) return undefined;
    if (this.stopped) return 'stopped';
    return this.accepting ? 'not listening yet' : 'not accepting connections (drain)';
  }

  /** Binds (again, after a drain, to the same port); resolves at once when already listening. */
  listen(): Promise<void> {
    if (this.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen({ host: this.where.host, port: this.port, backlog: this.where.backlog }, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        if (a && typeof a === 'object') this.boundPort = a.port;
        this.listening = true;
        resolve();
      });
    });
  }

  /** Stops (false) or resumes (true) accepting; open connections are not touched. */
  async setAccepting(accepting: boolean): Promise<void> {
    if (this.stopped) return;
    this.accepting = accepting;
    if (accepting) await this.listen();
    else this.unbind();
  }

  /**
   * Stops accepting for good. The promise resolves once every connection the server accepted
   * itself has ended (net.Server's close): the caller ends them, so it awaits this last.
   */
  stop(): Promise<void> {
    this.stopped = true;
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Closes the listening socket now, without waiting for open connections (a drain keeps them). */
  private unbind(): void {
    if (!this.listening) return;
    this.listening = false;
    this.server.close();
  }
}
