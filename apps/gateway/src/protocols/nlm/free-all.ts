import type { RpcProcedure } from '../rpc/program.ts';
import { decodeNotify } from './codec.ts';
import type { NlmEnv } from './context.ts';

/** NLM4_FREE_ALL: a client's every lock goes (it rebooted); void result. */
export function freeAllProcedure(env: NlmEnv): RpcProcedure {
  return {
    name: 'NLM_FREE_ALL',
    idempotent: false,
    async handle(call) {
      const args = decodeNotify(call.args);
      const n = env.manager.releaseClient(args.name);
      env.log.info({ client: args.name, released: n }, `NLM FREE_ALL from ${args.name}: ${n} locks released`);
    },
  };
}
