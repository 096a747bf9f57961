import type { GatewayConfig, Protocol } from '../config/types.ts';
import type { ControlPlane } from '../control/index.ts';
import type { ConnectionRegistry } from '../ops/connections.ts';
import type { HealthCheck } from '../ops/health.ts';
import type { Namespace } from '../storage/namespace.ts';
import type { Logger } from './logger.ts';

export interface Listener {
  /** What the operator reads: "NFS", "MOUNT", "S3 (https)", "SMB". */
  name: string;
  /** Where it listens, e.g. "0.0.0.0:2049". */
  address: string;
}

/** What every protocol server gives the daemon: a lifecycle and a health probe. */
export interface ProtocolServer {
  readonly protocol: Protocol;
  start(): Promise<Listener[]>;
  /** Stops accepting, finishes requests in flight, closes connections. */
  stop(): Promise<void>;
  /**
   * Drain: stop (false) or resume (true) accepting new connections; open ones keep working.
   * Settles once the listeners have (a failure is logged, not thrown).
   */
  setAccepting(accepting: boolean): Promise<void> | void;
  healthCheck(): HealthCheck;
  /** After a reload replaced ProtocolContext.config: apply the exports or shares it changed. */
  reload?(): Promise<void> | void;
  /** S3: multipart uploads aborted for want of activity, and the bytes they held (metrics). */
  readonly staleUploads?: { aborted: number; freedBytes: bigint };
  /** S3: objects expired, bytes freed and uploads aborted by buckets' lifecycle rules (metrics). */
  readonly lifecycleTotals?: { expired: number; freedBytes: bigint; aborted: number };
}

export interface ProtocolContext {
  /** The running configuration: replaced by a reload, so read it where it is used. */
  readonly config: GatewayConfig;
  ns: Namespace;
  control: ControlPlane;
  connections: ConnectionRegistry;
  log: Logger;
  /** The served certificate and key (hot-reloaded on SIGHUP and by the admin API). */
  tls: {
    current(): { cert: Buffer; key: Buffer } | undefined;
    onChange(listener: () => void): () => void;
  };
}

export type ProtocolFactory = (ctx: ProtocolContext) => ProtocolServer;
