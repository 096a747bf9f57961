import type { ServedProgram } from '../rpc/dispatch.ts';
import type { RpcProcedure } from '../rpc/program.ts';
import { cancelProcedure } from './cancel.ts';
import { NLM_PROG, NLM_VERS, Nlm4Stat, NlmProc, nlmStatName } from './codec.ts';
import type { NlmEnv } from './context.ts';
import { freeAllProcedure } from './free-all.ts';
import { lockProcedure } from './lock.ts';
import { testProcedure } from './test.ts';
import { unlockProcedure } from './unlock.ts';

/** Procedures whose result is nlm4_res / nlm4_testres (cookie, then status). */
const WITH_STATUS = new Set<number>([
  NlmProc.TEST,
  NlmProc.LOCK,
  NlmProc.CANCEL,
  NlmProc.UNLOCK,
  NlmProc.NM_LOCK,
]);

/**
 * NLM (100021) version 4 — the version NFSv3 clients use; 1 and 3 (NFSv2's) get PROG_MISMATCH.
 * The asynchronous *_MSG/*_RES procedures and DOS SHARE/UNSHARE are not served (PROC_UNAVAIL):
 * Linux and libnfs clients use the synchronous calls over TCP.
 */
export function createNlmProgram(env: NlmEnv): ServedProgram {
  const table = new Map<number, RpcProcedure>([
    [NlmProc.NULL, { name: 'NLM_NULL', idempotent: true, handle: async (c) => c.args.end('void args') }],
    [NlmProc.TEST, testProcedure(env)],
    [NlmProc.LOCK, lockProcedure(env, 'NLM_LOCK')],
    [NlmProc.CANCEL, cancelProcedure(env)],
    [NlmProc.UNLOCK, unlockProcedure(env)],
    [NlmProc.NM_LOCK, lockProcedure(env, 'NLM_NM_LOCK')],
    [NlmProc.FREE_ALL, freeAllProcedure(env)],
  ]);
  return {
    program: {
      prog: NLM_PROG,
      name: 'NLM',
      low: NLM_VERS,
      high: NLM_VERS,
      procedures: (vers) => (vers === NLM_VERS ? table : undefined),
      acceptsFlavor: (flavor) => flavor === 'none' || flavor === 'sys',
    },
    resultStatus(_vers, proc, result) {
      if (!WITH_STATUS.has(proc)) return undefined;
      result.opaque(1024, 'cookie');
      const stat = result.uint32('stat');
      return stat === Nlm4Stat.GRANTED || stat === Nlm4Stat.BLOCKED ? undefined : nlmStatName(stat);
    },
  };
}
