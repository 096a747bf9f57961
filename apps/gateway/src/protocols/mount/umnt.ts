import type { RpcProcedure } from '../rpc/program.ts';
import { decodeDirpath, decodeVoid } from './codec.ts';
import { clientName, type MountEnv } from './context.ts';
import { normaliseMountPath } from './exports.ts';

/** UMNT (RFC 1813 §5.2.3): forget one mount of this client; void result. */
export function umntProcedure(env: MountEnv): RpcProcedure {
  return {
    name: 'UMNT',
    idempotent: true,
    async handle(call) {
      const path = decodeDirpath(call.args);
      env.mounts.remove(clientName(call.remoteAddress), normaliseMountPath(path) ?? path);
    },
  };
}

/** UMNTALL (RFC 1813 §5.2.4): forget every mount of this client; void result. */
export function umntallProcedure(env: MountEnv): RpcProcedure {
  return {
    name: 'UMNTALL',
    idempotent: true,
    async handle(call) {
      decodeVoid(call.args);
      env.mounts.removeHost(clientName(call.remoteAddress));
    },
  };
}
