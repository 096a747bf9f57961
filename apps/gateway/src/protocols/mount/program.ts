import type { ServedProgram } from '../rpc/dispatch.ts';
import type { RpcProcedure, RpcProgram } from '../rpc/program.ts';
import { decodeVoid, MOUNT_PROG, MountProc, mountstatName } from './codec.ts';
import type { MountEnv } from './context.ts';
import { dumpProcedure, exportProcedure } from './export.ts';
import { mntProcedure } from './mnt.ts';
import { umntallProcedure, umntProcedure } from './umnt.ts';

/**
 * The MOUNT program (100005). Version 3 is the NFSv3 mount protocol; versions 1 and 2 are
 * served for what they share with it — DUMP, UMNT, UMNTALL, EXPORT, which `showmount` calls
 * over version 1 — but not their MNT, whose 32-byte handles are NFSv2's (PROC_UNAVAIL).
 */
export function createMountProgram(env: MountEnv): RpcProgram {
  const nul: RpcProcedure = { name: 'MOUNT_NULL', idempotent: true, handle: async (c) => decodeVoid(c.args) };
  const shared: Array<[number, RpcProcedure]> = [
    [MountProc.NULL, nul],
    [MountProc.DUMP, dumpProcedure(env)],
    [MountProc.UMNT, umntProcedure(env)],
    [MountProc.UMNTALL, umntallProcedure(env)],
    [MountProc.EXPORT, exportProcedure(env)],
  ];
  const v1 = new Map(shared);
  const v3 = new Map([...shared, [MountProc.MNT, mntProcedure(env)]]);
  return {
    prog: MOUNT_PROG,
    name: 'MOUNT',
    low: 1,
    high: 3,
    procedures: (vers) => (vers === 3 ? v3 : vers === 1 || vers === 2 ? v1 : undefined),
    acceptsFlavor: (flavor) => flavor === 'none' || flavor === 'sys',
  };
}

/** The MOUNT program as a listener serves it: MNT's mountstat3 names a failed call. */
export function servedMountProgram(env: MountEnv): ServedProgram {
  return {
    program: createMountProgram(env),
    resultStatus(vers, proc, result) {
      if (vers !== 3 || proc !== MountProc.MNT) return undefined;
      const status = result.uint32('mountstat3');
      return status === 0 ? undefined : mountstatName(status);
    },
  };
}
