import type { RpcProcedure } from '../rpc/program.ts';
import { decodeTestArgs, encodeTestRes, Nlm4Stat } from './codec.ts';
import { type NlmEnv, resolveFile } from './context.ts';
import { holderOf } from './owner.ts';

/** NLM4_TEST: would this lock be granted? DENIED carries the conflicting holder. */
export function testProcedure(env: NlmEnv): RpcProcedure {
  return {
    name: 'NLM_TEST',
    idempotent: true,
    async handle(call, reply) {
      const args = decodeTestArgs(call.args);
      const file = await resolveFile(env, args.lock.fh, call);
      if ('stat' in file) return encodeTestRes(reply, args.cookie, file.stat);
      const holder = env.manager.test({ ino: file.ino, lock: args.lock, exclusive: args.exclusive });
      if (holder) encodeTestRes(reply, args.cookie, Nlm4Stat.DENIED, holderOf(holder));
      else encodeTestRes(reply, args.cookie, Nlm4Stat.GRANTED);
    },
  };
}
