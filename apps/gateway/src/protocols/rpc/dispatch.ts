import type { Logger } from '../../daemon/logger.ts';
import type { Connection } from '../../ops/connections.ts';
import { XdrError } from '../xdr/errors.ts';
import { XdrReader } from '../xdr/reader.ts';
import { type CredentialMemo, checkCredential } from './auth.ts';
import { AcceptStat, type AcceptStatName, AuthStat, type AuthStatName } from './constants.ts';
import { DuplicateRequestCache } from './drc.ts';
import {
  ACCEPTED_HEADER_BYTES,
  acceptedErrorReply,
  acceptedReplyWriter,
  authErrorReply,
  type CallHeader,
  progMismatchReply,
  rpcMismatchReply,
} from './message.ts';
import type { RpcCall, RpcProcedure, RpcProgram } from './program.ts';
import { RECORD_MARK_BYTES } from './record.ts';

/** A program as a listener serves it. */
export interface ServedProgram {
  program: RpcProgram;
  /**
   * Names a failed result for metrics and the connection registry (`NFS3ERR_NOENT`,
   * `MNT3ERR_ACCES`, `NLM4_DENIED`), reading the result body the procedure wrote;
   * undefined for a successful one. Absent: every accepted reply counts as a success.
   */
  resultStatus?(vers: number, proc: number, result: XdrReader): string | undefined;
}

/** A reply message (without record marking) and what to run once the socket has taken it. */
export interface RpcReply {
  chunks: Buffer[];
  /** Releases by-reference chunks (pooled READ buffers); run after the write, or on drop. */
  sent?: () => void;
  /**
   * The reply in one buffer after RECORD_MARK_BYTES of headroom for its record mark, when the
   * reply is one contiguous encoding: sent as it is, where `chunks` would be copied into one.
   */
  framed?: Buffer;
}

/** Where a call came from. */
export interface CallOrigin {
  remoteAddress: string;
  remotePort: number;
  conn: Connection;
  /** Identity of the TCP connection (tells retransmissions on the same connection apart). */
  connection: object;
  /** The connection's last credential, decoded (a fresh check for each call without one). */
  credentials?: CredentialMemo;
}

/** Metrics label for calls rejected before a procedure was found (fixed: label cardinality). */
const UNROUTED_OP = 'RPC';

const AUTH_NAMES = Object.fromEntries(Object.entries(AuthStat).map(([k, v]) => [v, k])) as Record<
  number,
  AuthStatName
>;

/** A call refused before its procedure runs: counted under `op` with the refusal's name. */
function reject(conn: Connection, op: string, name: AcceptStatName | AuthStatName, reply: Buffer): RpcReply {
  conn.begin(op)(name);
  return { chunks: [reply] };
}

/**
 * Routes one call to its procedure and produces the reply message (without record marking):
 * the whole RPC accept/reject logic of RFC 5531 §9 in one place, driven by the program tables.
 * Status errors all become replies here; only framing errors (handled by the caller) close.
 */
export class RpcDispatcher {
  private readonly programs = new Map<number, ServedProgram>();

  constructor(
    programs: ServedProgram[],
    private readonly log: Logger,
    private readonly drc: DuplicateRequestCache | undefined,
  ) {
    for (const p of programs) this.programs.set(p.program.prog, p);
  }

  /** Whether the call's procedure keeps nothing of its record once answered (RpcProcedure). */
  keepsNoArguments(header: CallHeader): boolean {
    if (header.kind !== 'call') return false;
    const table = this.programs.get(header.prog)?.program.procedures(header.vers);
    return table?.get(header.proc)?.keepsNoArguments === true;
  }

  /**
   * The reply, or undefined when nothing is to be sent (a dropped duplicate). Given without a
   * promise when the procedure answered without one (a GETATTR from the attribute cache): the
   * caller sends it at once, and the call allocates no promise chain.
   */
  dispatch(
    header: CallHeader,
    record: Buffer,
    origin: CallOrigin,
  ): RpcReply | undefined | Promise<RpcReply | undefined> {
    const { conn } = origin;
    if (header.kind === 'rpc-mismatch') {
      conn.begin(UNROUTED_OP)('RPC_MISMATCH');
      return { chunks: [rpcMismatchReply(header.xid)] };
    }
    const { xid, prog, vers, proc } = header;

    const auth =
      origin.credentials?.check(header.cred, header.verf) ?? checkCredential(header.cred, header.verf);
    if (!auth.ok && !('unsupported' in auth)) {
      return reject(conn, UNROUTED_OP, AUTH_NAMES[auth.authStat]!, authErrorReply(xid, auth.authStat));
    }
    const served = this.programs.get(prog);
    if (!served)
      return reject(conn, UNROUTED_OP, 'PROG_UNAVAIL', acceptedErrorReply(xid, AcceptStat.PROG_UNAVAIL));
    const { program } = served;
    const table = program.procedures(vers);
    if (!table) {
      return reject(conn, UNROUTED_OP, 'PROG_MISMATCH', progMismatchReply(xid, program.low, program.high));
    }
    const procedure = table.get(proc);
    if (!procedure)
      return reject(conn, UNROUTED_OP, 'PROC_UNAVAIL', acceptedErrorReply(xid, AcceptStat.PROC_UNAVAIL));
    if (!auth.ok || !program.acceptsFlavor(auth.cred.flavor, proc)) {
      return reject(conn, procedure.name, 'AUTH_TOOWEAK', authErrorReply(xid, AuthStat.AUTH_TOOWEAK));
    }
    const cred = auth.cred;
    if (cred.flavor === 'sys' && (conn.info.uid !== cred.uid || conn.info.gid !== cred.gid)) {
      conn.identify({ uid: cred.uid, gid: cred.gid });
    }
    conn.info.details.auth = cred.flavor;

    let drcKey: string | undefined;
    if (this.drc && !procedure.idempotent) {
      const args = record.subarray(header.argsOffset);
      drcKey = DuplicateRequestCache.key(
        origin.remoteAddress,
        origin.remotePort,
        xid,
        prog,
        vers,
        proc,
        args,
      );
      const seen = this.drc.lookup(drcKey, origin.connection);
      if (seen.state === 'replay') {
        conn.begin(procedure.name)();
        return { chunks: [seen.reply] };
      }
      if (seen.state === 'drop') return undefined;
      if (seen.state === 'wait') return seen.reply.then((reply) => (reply ? { chunks: [reply] } : undefined));
    }

    const end = conn.begin(procedure.name);
    const call: RpcCall = {
      xid,
      prog,
      vers,
      proc,
      cred,
      args: new XdrReader(record, header.argsOffset),
      remoteAddress: origin.remoteAddress,
      remotePort: origin.remotePort,
      conn,
    };
    const reply = acceptedReplyWriter(xid, AcceptStat.SUCCESS, 512, RECORD_MARK_BYTES);
    const answer = (failure?: { error: unknown }): RpcReply =>
      this.answer({ served, procedure, call, reply, end, drcKey }, failure);
    let handled: void | Promise<void>;
    try {
      handled = procedure.handle(call, reply);
    } catch (e) {
      return answer({ error: e });
    }
    if (handled === undefined) return answer();
    return handled.then(
      () => answer(),
      (e: unknown) => answer({ error: e }),
    );
  }

  /**
   * The reply once the procedure is done (or failed: GARBAGE_ARGS for bad arguments,
   * SYSTEM_ERR for anything else), counted, and kept by the duplicate request cache when the
   * call is one it tracks.
   */
  private answer(
    c: {
      served: ServedProgram;
      procedure: RpcProcedure;
      call: RpcCall;
      reply: ReturnType<typeof acceptedReplyWriter>;
      end: (status?: string) => void;
      drcKey: string | undefined;
    },
    failure?: { error: unknown },
  ): RpcReply {
    const { served, procedure, call, reply, end, drcKey } = c;
    const { xid, prog, vers, proc } = call;
    const { program } = served;
    let chunks: Buffer[];
    let sent: (() => void) | undefined;
    let framed: Buffer | undefined;
    let status: string | undefined;
    try {
      if (failure) throw failure.error;
      if (call.args.remaining !== 0) {
        // The procedure's decoder must call args.end(); a table whose decoder forgets is a bug.
        throw new XdrError(
          `${program.name} ${procedure.name} arguments`,
          `${call.args.remaining} trailing bytes`,
        );
      }
      chunks = reply.toChunks();
      sent = reply.afterSend();
      status = this.resultStatus(served, vers, proc, chunks);
      framed = reply.framed();
    } catch (e) {
      reply.afterSend()?.();
      if (e instanceof XdrError) {
        this.log.debug(
          { xid, prog, vers, proc, field: e.field, err: e.message },
          'RPC call with garbage arguments',
        );
        chunks = [acceptedErrorReply(xid, AcceptStat.GARBAGE_ARGS)];
        status = 'GARBAGE_ARGS';
      } else {
        this.log.error(
          { err: e, xid, program: program.name, procedure: procedure.name },
          `${program.name} ${procedure.name} failed`,
        );
        chunks = [acceptedErrorReply(xid, AcceptStat.SYSTEM_ERR)];
        status = 'SYSTEM_ERR';
      }
    }
    end(status);
    if (drcKey !== undefined) {
      const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      sent?.();
      this.drc!.finish(drcKey, whole, status !== 'SYSTEM_ERR');
      return { chunks: [whole] };
    }
    return framed ? { chunks, sent, framed } : { chunks, sent };
  }

  private resultStatus(
    served: ServedProgram,
    vers: number,
    proc: number,
    chunks: Buffer[],
  ): string | undefined {
    if (!served.resultStatus) return undefined;
    const first = chunks[0];
    if (!first || first.length <= ACCEPTED_HEADER_BYTES) return undefined;
    try {
      return served.resultStatus(vers, proc, new XdrReader(first, ACCEPTED_HEADER_BYTES));
    } catch {
      return undefined;
    }
  }
}
