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
  /** The bind in progress: a second listen() shares it instead of binding twice. */
  private binding: Promise<void> | undefined;

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
    this.binding ??= new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen({ host: this.where.host, port: this.port, backlog: this.where.backlog }, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        if (a && typeof a === 'object') this.boundPort = a.port;
        this.listening = true;
        resolve();
      });
    }).finally(() => {
      this.binding = undefined;
    });
    return this.binding;
  }

  /**
   * Stops (false) or resumes (true) accepting; open connections are not touched. Calls made
   * while a bind is in progress wait for it, and the last call decides.
   */
  async setAccepting(accepting: boolean): Promise<void> {
    if (this.stopped) return;
    this.accepting = accepting;
    await this.binding?.catch(() => {});
    if (this.stopped || this.accepting !== accepting) return;
    if (accepting) await this.listen();
    else this.unbind();
  }

  /**
   * Stops accepting for good. The promise resolves once every connection the server accepted
   * itself has ended (net.Server's close): the caller ends them, so it awaits this last.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.binding?.catch(() => {});
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Closes the listening socket now, without waiting for open connections (a drain keeps them). */
  private unbind(): void {
    if (!this.listening) return;
    this.listening = false;
    this.server.close();
  }
}
