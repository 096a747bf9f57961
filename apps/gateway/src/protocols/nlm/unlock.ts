import type { RpcProcedure } from '../rpc/program.ts';
import { decodeUnlockArgs, encodeRes, Nlm4Stat } from './codec.ts';
import { type NlmEnv, resolveFile } from './context.ts';

/** NLM4_UNLOCK: releases the owner's locks in the range (POSIX: parts outside it stay). */
export function unlockProcedure(env: NlmEnv): RpcProcedure {
  return {
    name: 'NLM_UNLOCK',
    idempotent: false,
    async handle(call, reply) {
      const args = decodeUnlockArgs(call.args);
      const file = await resolveFile(env, args.lock.fh, call);
      if ('stat' in file) return encodeRes(reply, args.cookie, file.stat);
      try {
        await env.manager.unlock({ ino: file.ino, lock: args.lock });
      } catch (e) {
        // Other gateway nodes could not be told (metadata database down): the lock stays, the
        // client retries.
        env.log.warn({ err: (e as Error).message }, 'NLM unlock not decided: cluster lock state unavailable');
        return encodeRes(reply, args.cookie, Nlm4Stat.DENIED_NOLOCKS);
      }
      encodeRes(reply, args.cookie, Nlm4Stat.GRANTED);
    },
  };
}
