import { randomBytes } from 'node:crypto';
import type { NfsExport } from '../../../config/types.ts';
import type { Logger } from '../../../daemon/logger.ts';
import type { NamespaceApi } from '../../../storage/contract.ts';
import type { RpcCall, RpcCred, RpcProcedure, RpcProgram } from '../../rpc/program.ts';
import type { XdrWriter } from '../../xdr/writer.ts';
import { NFS_PROGRAM, NFS_V3, NFS3_WRITEVERFSIZE, statusName } from './constants.ts';
import type { NfsEnv } from './context.ts';
import { NFS3_TABLE, runRow } from './dispatch.ts';
import { type ClientCheck, networkClientCheck } from './exports-view.ts';
import { NfsHandles } from './handle.ts';
import { ReadAhead } from './read-ahead.ts';

export interface NfsV3Deps {
  ns: NamespaceApi;
  /** `config.nfs.exports`, in configuration order (handles carry the export, see handle.ts). */
  exports: readonly NfsExport[];
  /** `control.secrets.nfsHandleKey`; or pass `handles` to share MOUNT's. */
  handleKey?: Buffer;
  handles?: NfsHandles;
  log?: Logger;
  /**
   * Whether a client address may use an export, on every call; MOUNT's ClientAccess (with its
   * DNS cache) fits. Default: address and network entries only (exports-view.ts).
   */
  clients?: ClientCheck;
  /** Tests only: a fixed write verifier. By default 8 random bytes per program instance. */
  writeVerifier?: Buffer;
}

export interface NfsV3Program extends RpcProgram {
  /** Handle codec and export roots: MOUNT answers MNT with `handles.encodeRootHandle(i)`. */
  readonly handles: NfsHandles;
  readonly writeVerifier: Buffer;
}

/** The NFS program (100003), version 3 only: every procedure of RFC 1813 from NFS3_TABLE. */
export function createNfsV3Program(deps: NfsV3Deps): NfsV3Program {
  const handles = deps.handles ?? handlesFrom(deps);
  const writeVerifier = deps.writeVerifier ?? randomBytes(NFS3_WRITEVERFSIZE);
  if (writeVerifier.length !== NFS3_WRITEVERFSIZE) throw new Error('the write verifier is 8 bytes');
  const env: NfsEnv = {
    ns: deps.ns,
    handles,
    writeVerifier,
    clients: deps.clients ?? networkClientCheck,
    readAhead: new ReadAhead(),
    log: deps.log,
  };
  const procedures = new Map<number, RpcProcedure>();
  for (const row of NFS3_TABLE) {
    procedures.set(row.proc, {
      name: row.name,
      idempotent: row.idempotent,
      keepsNoArguments: row.keepsNoArguments,
      handle: (call: RpcCall, reply: XdrWriter) => runRow(row, env, call, reply),
    });
  }
  return {
    prog: NFS_PROGRAM,
    name: 'nfs',
    low: NFS_V3,
    high: NFS_V3,
    handles,
    writeVerifier,
    procedures: (vers) => (vers === NFS_V3 ? procedures : undefined),
    // AUTH_NONE is served as the export's anonymous user (exports-view.ts).
    acceptsFlavor: (flavor: RpcCred['flavor']) => flavor === 'sys' || flavor === 'none',
  };
}

function handlesFrom(deps: NfsV3Deps): NfsHandles {
  if (!deps.handleKey) throw new Error('createNfsV3Program needs handleKey or handles');
  return new NfsHandles(deps.handleKey, deps.ns, deps.exports);
}

export { statusName };
