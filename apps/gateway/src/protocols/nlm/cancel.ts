import type { RpcProcedure } from '../rpc/program.ts';
import { decodeCancelArgs, encodeRes, Nlm4Stat } from './codec.ts';
import { type NlmEnv, resolveFile } from './context.ts';

/** NLM4_CANCEL: the client gives up waiting for a blocked lock. */
export function cancelProcedure(env: NlmEnv): RpcProcedure {
  return {
    name: 'NLM_CANCEL',
    idempotent: false,
    async handle(call, reply) {
      const args = decodeCancelArgs(call.args);
      const file = await resolveFile(env, args.lock.fh, call);
      if ('stat' in file) return encodeRes(reply, args.cookie, file.stat);
      env.manager.cancel({ ino: file.ino, lock: args.lock, exclusive: args.exclusive });
      encodeRes(reply, args.cookie, Nlm4Stat.GRANTED);
    },
  };
}
