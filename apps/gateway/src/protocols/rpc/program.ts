import type { Connection } from '../../ops/connections.ts';
import type { XdrReader } from '../xdr/reader.ts';
import type { XdrWriter } from '../xdr/writer.ts';

/** AUTH_SYS credentials (RFC 5531 appendix A) as the caller sent them. */
export interface AuthSysCred {
  readonly flavor: 'sys';
  readonly stamp: number;
  readonly machine: string;
  readonly uid: number;
  readonly gid: number;
  readonly gids: readonly number[];
}

export type RpcCred = AuthSysCred | { flavor: 'none' };

/** One decoded call as a program's procedure receives it. */
export interface RpcCall {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred: RpcCred;
  /** The procedure's arguments; the procedure must consume them exactly (`args.end()`). */
  args: XdrReader;
  remoteAddress: string;
  remotePort: number;
  /** The registry entry of the TCP connection (metrics, identity, in-flight accounting). */
  conn: Connection;
}

/**
 * A procedure: decode its arguments from `call.args` (an XdrError becomes GARBAGE_ARGS),
 * do the work, and write its result body — what follows accept_stat SUCCESS — into `reply`.
 * Protocol status errors (NFS3ERR_*) are results, written by the procedure itself.
 */
export interface RpcProcedure {
  name: string;
  /** Non-idempotent calls (CREATE, REMOVE, RENAME…) are answered from the duplicate request cache on retransmission. */
  idempotent: boolean;
  /**
   * Nothing of the call's record (no view of its bytes) is kept once the call is answered: the
   * record's buffer may then serve the next large call (NFS WRITE, whose data the stores copy).
   */
  keepsNoArguments?: boolean;
  /** Done when it returns undefined (an answer made without waiting), else when it settles. */
  handle(call: RpcCall, reply: XdrWriter): void | Promise<void>;
}

/** An ONC RPC program (NFS 100003, MOUNT 100005, NLM 100021, NSM 100024) served on a listener. */
export interface RpcProgram {
  prog: number;
  name: string;
  /** Supported versions, lowest and highest (PROG_MISMATCH carries them). */
  low: number;
  high: number;
  /** The procedure table of one version; a missing number is PROC_UNAVAIL. */
  procedures(vers: number): ReadonlyMap<number, RpcProcedure> | undefined;
  /** Which flavours this program accepts; a call with another gets AUTH_ERROR (AUTH_TOOWEAK). */
  acceptsFlavor(flavor: RpcCred['flavor'], proc: number): boolean;
}
