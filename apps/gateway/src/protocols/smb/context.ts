import type { GatewayConfig } from '../../config/types.ts';
import type { ControlPlane } from '../../control/index.ts';
import type { Logger } from '../../daemon/logger.ts';
import type { Namespace } from '../../storage/namespace.ts';
import type { Credential } from '../../storage/types.ts';
import type { ClientAccess } from '../client-access.ts';
import type { AppleConnection } from './apple/aapl.ts';
import type { Cipher } from './constants.ts';
import type { PreauthHash } from './deps.ts';
import type { DurableOpens } from './durable.ts';
import type { Smb2Header } from './header.ts';
import type { Lease, LeaseTable } from './leases.ts';
import type { NotifyHub } from './notify.ts';
import type { FileId, InodeOpens, Open } from './open-files.ts';
import type { Session } from './session.ts';
import type { Share, TreeConnect } from './tree.ts';

/** What every connection of the server shares. */
export interface ServerEnv {
  ns: Namespace;
  config: GatewayConfig;
  control: ControlPlane;
  log: Logger;
  serverGuid: Buffer;
  /** FILETIME of the server's start. */
  startTime: bigint;
  /** NetBIOS name this server calls itself in NTLM and srvsvc. */
  serverName: string;
  shares: () => readonly Share[];
  /** Decides shares' hosts_allow (networks, host names through DNS). */
  clients: ClientAccess;
  notify: NotifyHub;
  inodes: InodeOpens;
  /** Every lease granted, by client and key (leases.ts). */
  leases: LeaseTable;
  /** Durable opens by FileId.Persistent, connected or waiting for a reconnect. */
  durable: DurableOpens;
  /** Every session of the server by SessionId, with its connection (MS-SMB2 GlobalSessionTable). */
  sessions: Map<bigint, { session: Session; conn: ConnectionState }>;
  nextFileId(): bigint;
  nextSessionId(): bigint;
}

/** The negotiated state of one connection (MS-SMB2 §3.3.1.7), as handlers see it. */
export interface ConnectionState {
  readonly id: number;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly localPort: number;
  dialect: number;
  clientGuid: Buffer;
  clientCapabilities: number;
  clientSecurityMode: number;
  clientDialects: number[];
  serverCapabilities: number;
  serverSecurityMode: number;
  cipher: Cipher | 0;
  /** 3.1.1: messages are signed with AES-GMAC (negotiated), not AES-CMAC. */
  signingGmac: boolean;
  preauth: PreauthHash | undefined;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  /** Apple's extensions, once a share with apple_extensions answered the client's AAPL query. */
  apple: AppleConnection | undefined;
  readonly sessions: Map<bigint, Session>;
  /** Said once a session is valid: user, dialect, signing and encryption for `./cfs smb status`. */
  describeSession(session: Session): void;
  /** Closes an open (and runs delete-on-close) as CLOSE, LOGOFF and disconnect do. */
  closeOpen(open: Open): Promise<void>;
  /** Tells the open's client its oplock is broken to `level` (an OPLOCK_BREAK notification). */
  sendOplockBreak(open: Open, level: number): void;
  /** Tells the lease's client its lease is broken (a LEASE_BREAK notification). */
  sendLeaseBreak(lease: Lease, b: { from: number; to: number; ackRequired: boolean }): void;
  /**
   * Tears a session down: opens closed (durable ones kept for a reconnect with `keepDurable`),
   * locks released, trees gone.
   */
  logoff(session: Session, opts?: { keepDurable?: boolean }): Promise<void>;
}

/**
 * One request as its handler sees it: the negotiated connection, the verified session and tree
 * (per the dispatch row), and the few ways a handler shapes its reply.
 */
export interface RequestContext {
  readonly env: ServerEnv;
  readonly conn: ConnectionState;
  readonly hdr: Smb2Header;
  /** The session (verified, signature checked) when the row needs one; SESSION_SETUP may see undefined. */
  readonly session: Session | undefined;
  readonly tree: TreeConnect | undefined;
  readonly encrypted: boolean;
  /** Aborted by CANCEL (and when the connection goes away). */
  readonly signal: AbortSignal;
  /** The open a FileId names on this session and tree (the compound's previous open for the related id). */
  open(fileId: FileId): Open;
  /** The reply's TreeId (TREE_CONNECT). */
  replyTreeId(id: number): void;
  /** 3.1.1: hashes this request into the session's pre-authentication hash (SESSION_SETUP). */
  hashRequest(session: Session): void;
  /** Remembers the open of a CREATE for related compounded requests. */
  setCompoundOpen(open: Open): void;
  /** The session's credential; handlers on a tree always have one. */
  cred(): Credential;
  /** Replies with this status and the command's normal body (warnings, MORE_PROCESSING_REQUIRED). */
  replyStatus(status: number): void;
  /** The reply's SessionId (SESSION_SETUP creating a session). */
  replySessionId(id: bigint): void;
  /** CANCEL: aborts the in-flight request this header names. */
  cancelTarget(): void;
  /** Sends STATUS_PENDING now and completes later (once); STATUS_INTERNAL_ERROR inside a compound. */
  goAsync(): boolean;
}
