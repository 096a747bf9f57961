import type { Credential } from '../../storage/types.ts';
import type { NtlmAcceptor, PreauthHash } from './deps.ts';
import type { Open } from './open-files.ts';
import type { TreeConnect } from './tree.ts';

export interface SessionUser {
  name: string;
  domain: string;
  uid: number;
  gid: number;
  gids: readonly number[];
}

/** MS-SMB2 §3.3.1.8: one authenticated (or authenticating) user on a connection. */
export class Session {
  state: 'in-progress' | 'valid' = 'in-progress';
  acceptor: NtlmAcceptor | undefined;
  /** 3.1.1: the pre-authentication hash of this session's SESSION_SETUP exchange. */
  preauth: PreauthHash | undefined;
  user: SessionUser | undefined;
  cred: Credential | undefined;
  guest = false;
  signingKey: Buffer | undefined;
  encryptionKey: Buffer | undefined;
  decryptionKey: Buffer | undefined;
  applicationKey: Buffer | undefined;
  signingRequired = false;
  encryptData = false;
  readonly trees = new Map<number, TreeConnect>();
  readonly opens = new Map<bigint, Open>();
  private nextTree = 1;
  readonly createdAt = Date.now();
  /** SESSION_SETUP round trips so far (bounded: a client cannot keep a session half-open forever). */
  rounds = 0;

  constructor(
    readonly id: bigint,
    /** Where byte-range locks of this session are filed (`./cfs smb status`, release on logoff). */
    readonly lockClient: string,
  ) {}

  allocTreeId(): number {
    for (;;) {
      const id = this.nextTree;
      this.nextTree = this.nextTree >= 0xfffffffe ? 1 : this.nextTree + 1;
      if (!this.trees.has(id)) return id;
    }
  }
}
