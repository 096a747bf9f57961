import type { RpcProcedure } from '../rpc/program.ts';
import { decodeVoid, encodeExports, encodeMountList } from './codec.ts';
import type { MountEnv } from './context.ts';

/** EXPORT (RFC 1813 §5.2.5): every export with its client list as groups (`showmount -e`). */
export function exportProcedure(env: MountEnv): RpcProcedure {
  return {
    name: 'EXPORT',
    idempotent: true,
    async handle(call, reply) {
      decodeVoid(call.args);
      encodeExports(
        reply,
        env.exports.flatMap((e) => (e ? [{ dir: e.path, groups: e.clients.map((c) => c.text) }] : [])),
      );
    },
  };
}

/** DUMP (RFC 1813 §5.2.2): the mounts MNT recorded (`showmount -a`). */
export function dumpProcedure(env: MountEnv): RpcProcedure {
  return {
    name: 'DUMP',
    idempotent: true,
    async handle(call, reply) {
      decodeVoid(call.args);
      encodeMountList(reply, env.mounts.list());
    },
  };
}
