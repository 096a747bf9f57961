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
      const file = await resolveFile(env, args.lock.fh, call.remoteAddress);
      if ('stat' in file) return encodeRes(reply, args.cookie, file.stat);
      await env.manager.unlock({ ino: file.ino, lock: args.lock });
      encodeRes(reply, args.cookie, Nlm4Stat.GRANTED);
    },
  };
}
