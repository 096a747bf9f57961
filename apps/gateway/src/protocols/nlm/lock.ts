import type { RpcProcedure } from '../rpc/program.ts';
import { decodeLockArgs, encodeRes, Nlm4Stat } from './codec.ts';
import { type NlmEnv, resolveFile } from './context.ts';

const OUTCOME = { granted: Nlm4Stat.GRANTED, denied: Nlm4Stat.DENIED, blocked: Nlm4Stat.BLOCKED } as const;

/**
 * NLM4_LOCK (and NLM4_NM_LOCK, the same without status monitoring): granted at once, denied,
 * or — when the client asked to block — NLM4_BLOCKED and granted later by callback. There is
 * no grace period: locks live in memory, so a reclaim after a restart is an ordinary request.
 */
export function lockProcedure(env: NlmEnv, name: 'NLM_LOCK' | 'NLM_NM_LOCK'): RpcProcedure {
  return {
    name,
    idempotent: false,
    async handle(call, reply) {
      const args = decodeLockArgs(call.args);
      const file = await resolveFile(env, args.lock.fh, call);
      if ('stat' in file) return encodeRes(reply, args.cookie, file.stat);
      let outcome: keyof typeof OUTCOME;
      try {
        outcome = await env.manager.lock(
          { ino: file.ino, lock: args.lock, exclusive: args.exclusive },
          args.block && name === 'NLM_LOCK',
          { address: call.remoteAddress, cookie: args.cookie },
        );
      } catch (e) {
        // The other gateway nodes' locks could not be consulted (metadata database down): the
        // client retries later.
        env.log.warn({ err: (e as Error).message }, 'NLM lock not decided: cluster lock state unavailable');
        return encodeRes(reply, args.cookie, Nlm4Stat.DENIED_NOLOCKS);
      }
      encodeRes(reply, args.cookie, OUTCOME[outcome]);
    },
  };
}
