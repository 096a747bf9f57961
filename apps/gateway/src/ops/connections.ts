import type { Socket } from 'node:net';
import type { ConnectionView } from '@claudefs/api';
import type { Protocol } from '../config/types.ts';
import type { HealthCheck } from './health.ts';
import { LoopShare } from './loop-share.ts';

/**
 * What the registry knows of one client connection: the API's view (admin API, console,
 * `cfs smb status`), kept up to date in place.
 */
export type ConnectionInfo = ConnectionView;

/** Receives every finished request (the metrics feature implements it). */
export interface RequestObserver {
  request(protocol: Protocol, op: string, seconds: number, errorCode: string | undefined): void;
}

const NOT_COUNTED = (): void => {};

export class Connection {
  /** Whether this is the gateway's own health probe (decided at its first request). */
  private probe: boolean | undefined;
  /**
   * This connection's requests still counted in the registry's in-flight totals, and the
   * generation they were counted in. Each leaves the count once, by its end or by the
   * connection's close, whichever comes first: a client that hangs up mid-request closes the
   * connection before the request's handler ends it, and subtracting it at both drove the total
   * to -1 for good (drain never finished, heartbeats were refused). A close starts a new
   * generation: the ends of requests counted before it subtract nothing.
   */
  private counted = 0;
  private generation = 0;

  constructor(
    readonly info: ConnectionInfo,
    private readonly registry: ConnectionRegistry,
  ) {}

  /**
   * Set by a protocol that counts a connection's bytes as they go (S3: its socket's counters):
   * brings bytesIn and bytesOut up to date before the connection is listed.
   */
  refresh: (() => void) | undefined;

  /**
   * Marks a request in flight; the returned function ends it (with the protocol's error code, if
   * any). Its latency is measured to `answeredAt` (a performance.now() time) when given: an S3
   * GET is answered when its body starts, and in flight until the body is sent. A request of the
   * gateway's own health probe is not a client's: not counted.
   */
  begin(op: string): (errorCode?: string, answeredAt?: number) => void {
    this.probe ??= this.registry.claimProbe(this);
    if (this.probe) return NOT_COUNTED;
    const started = performance.now();
    this.info.inFlight++;
    this.info.requests++;
    this.info.currentOp = op;
    const generation = this.generation;
    this.counted++;
    this.registry.inFlightDelta(this.info.protocol, 1);
    let ended = false;
    return (errorCode?: string, answeredAt?: number) => {
      if (ended) return;
      ended = true;
      this.info.inFlight--;
      if (this.info.inFlight === 0) this.info.currentOp = undefined;
      if (generation === this.generation) {
        this.counted--;
        this.registry.inFlightDelta(this.info.protocol, -1);
      }
      this.registry.observe(
        this.info.protocol,
        op,
        ((answeredAt ?? performance.now()) - started) / 1000,
        errorCode,
      );
    };
  }

  bytes(inBytes: number, outBytes: number): void {
    this.info.bytesIn += inBytes;
    this.info.bytesOut += outBytes;
  }

  identify(who: { user?: string; uid?: number; gid?: number; keyId?: string }): void {
    Object.assign(this.info, who);
  }

  close(): void {
    this.registry.release(this);
  }

  /**
   * Stops counting the requests still in flight (the connection is closing: a request whose
   * handler never ends must not hold a drain up) and returns how many there were; their ends
   * then subtract nothing.
   */
  uncount(): number {
    const n = this.counted;
    this.counted = 0;
    this.generation++;
    return n;
  }
}

/**
 * Every protocol connection, across protocols, with one limit (`limits.max_connections`).
 * Stateless protocols (S3 over HTTP keep-alive) register their TCP connections too.
 */
export class ConnectionRegistry {
  private readonly open = new Map<number, Connection>();
  private nextId = 1;
  private readonly inFlightBy = new Map<Protocol, number>();
  /** Requests started so far, per protocol. */
  private readonly startedBy = new Map<Protocol, number>();
  /** S3's share of the event loop when NFS and SMB need it too (started by the gateway). */
  readonly share = new LoopShare(() => this.startedBy);
  readonly refusedBy = new Map<Protocol, number>();
  readonly observers: RequestObserver[] = [];
  /** Called when the last request in flight ends (drain waits on it). */
  idleListeners = new Set<() => void>();

  /** Local endpoints of this process's own health probes while they run (ownProbe). */
  private readonly probes = new Set<string>();

  constructor(public maxConnections: number) {}

  /**
   * Marks a connected client socket of this process's own health probe (an NFS NULL call, an
   * SMB NEGOTIATE), before it sends anything: the connection the listener accepted from it is
   * then, at its first request, dropped from the registry, and its requests are neither counted
   * nor observed — so an idle gateway shows no traffic (S3's probe is told by its token
   * instead). Returns the unmarking, for when the probe is done.
   */
  ownProbe(socket: Socket): () => void {
    const key = endpoint(socket.localAddress, socket.localPort);
    if (key === undefined) return () => {};
    this.probes.add(key);
    return () => this.probes.delete(key);
  }

  /** Whether the connection comes from a probe's socket; if so it leaves the registry. */
  claimProbe(c: Connection): boolean {
    if (this.probes.size === 0) return false;
    const key = endpoint(c.info.remoteAddress, c.info.remotePort);
    if (key === undefined || !this.probes.has(key)) return false;
    this.open.delete(c.info.id);
    return true;
  }

  /**
   * At limits.max_connections: the reason new clients are refused, in /health's words;
   * undefined while there is room.
   */
  get limitReached(): string | undefined {
    if (this.open.size < this.maxConnections) return undefined;
    return `connection limit reached: ${this.open.size} of ${this.maxConnections} (limits.max_connections); new clients are refused`;
  }

  /**
   * A protocol's health probe that is not run while the connection limit is reached: its
   * connection would be refused like a client's (counted as one, and read as a broken
   * listener), where the gateway check already names the limit.
   */
  probeWithRoom(check: HealthCheck): HealthCheck {
    return {
      ...check,
      run: () =>
        this.limitReached === undefined
          ? check.run()
          : Promise.resolve({
              status: 'degraded' as const,
              message: 'not probed: the connection limit is reached',
            }),
    };
  }

  /** A new connection, or undefined when the limit is reached (the caller refuses it cleanly). */
  accept(
    protocol: Protocol,
    remoteAddress: string,
    remotePort: number,
    localPort: number,
  ): Connection | undefined {
    if (this.open.size >= this.maxConnections) {
      this.refusedBy.set(protocol, (this.refusedBy.get(protocol) ?? 0) + 1);
      return undefined;
    }
    const info: ConnectionInfo = {
      id: this.nextId++,
      protocol,
      remoteAddress,
      remotePort,
      localPort,
      startedAt: Date.now(),
      requests: 0,
      bytesIn: 0,
      bytesOut: 0,
      inFlight: 0,
      details: {},
    };
    const c = new Connection(info, this);
    this.open.set(info.id, c);
    return c;
  }

  release(c: Connection): void {
    if (!this.open.delete(c.info.id)) return;
    const inFlight = c.uncount();
    if (inFlight > 0) this.inFlightDelta(c.info.protocol, -inFlight);
  }

  inFlightDelta(protocol: Protocol, delta: number): void {
    this.inFlightBy.set(protocol, (this.inFlightBy.get(protocol) ?? 0) + delta);
    if (delta > 0) this.startedBy.set(protocol, (this.startedBy.get(protocol) ?? 0) + delta);
    if (delta < 0 && this.inFlight() === 0) for (const l of this.idleListeners) l();
  }

  observe(protocol: Protocol, op: string, seconds: number, errorCode: string | undefined): void {
    for (const o of this.observers) o.request(protocol, op, seconds, errorCode);
  }

  list(): ConnectionInfo[] {
    return [...this.open.values()].map((c) => {
      c.refresh?.();
      return { ...c.info, details: { ...c.info.details } };
    });
  }

  count(protocol?: Protocol): number {
    if (!protocol) return this.open.size;
    let n = 0;
    for (const c of this.open.values()) if (c.info.protocol === protocol) n++;
    return n;
  }

  inFlight(protocol?: Protocol): number {
    if (protocol) return this.inFlightBy.get(protocol) ?? 0;
    let n = 0;
    for (const v of this.inFlightBy.values()) n += v;
    return n;
  }
}

/** `address:port` of a TCP endpoint, an IPv4-mapped IPv6 address written as IPv4. */
function endpoint(address: string | undefined, port: number | undefined): string | undefined {
  if (!address || !port) return undefined;
  return `${address.startsWith('::ffff:') ? address.slice(7) : address}:${port}`;
}
