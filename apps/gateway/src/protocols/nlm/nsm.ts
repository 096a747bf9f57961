import type { Logger } from '../../daemon/logger.ts';
import type { ServedProgram } from '../rpc/dispatch.ts';
import type { RpcProcedure } from '../rpc/program.ts';
import {
  decodeMon,
  decodeMonId,
  decodeMyId,
  decodeSmName,
  decodeStatChange,
  encodeStat,
  encodeStatRes,
  NSM_PROG,
  NSM_VERS,
  NsmProc,
  SmRes,
} from './nsm-codec.ts';

/** Monitored hosts kept at most. */
const MAX_MONITORS = 10_000;

export interface NsmEnv {
  /** A host rebooted (SM_NOTIFY): release what it held. */
  onReboot(monName: string, state: number): void;
  log: Logger;
}

/**
 * A minimal Network Status Monitor beside NLM: SM_STAT and SM_MON answer with this server's
 * state number (odd: up); SM_MON/SM_UNMON/SM_UNMON_ALL keep the monitor list; SM_NOTIFY —
 * a client's statd announcing its reboot — releases that client's locks.
 */
export class NsmState {
  /** The NSM state number: odd while up, new at every start. */
  readonly state = (Math.floor(Date.now() / 1000) & 0x7fff_ffff) | 1;
  private readonly monitors = new Map<string, Set<string>>();

  monitor(monName: string, by: string): boolean {
    let set = this.monitors.get(monName);
    if (!set) {
      if (this.monitors.size >= MAX_MONITORS) return false;
      set = new Set();
      this.monitors.set(monName, set);
    }
    set.add(by);
    return true;
  }

  unmonitor(monName: string, by: string): void {
    const set = this.monitors.get(monName);
    set?.delete(by);
    if (set?.size === 0) this.monitors.delete(monName);
  }

  unmonitorAll(by: string): void {
    for (const name of [...this.monitors.keys()]) this.unmonitor(name, by);
  }

  monitored(): string[] {
    return [...this.monitors.keys()];
  }
}

function myIdKey(id: { name: string; prog: number; vers: number; proc: number }): string {
  return `${id.name}/${id.prog}/${id.vers}/${id.proc}`;
}

export function createNsmProgram(env: NsmEnv, nsm = new NsmState()): ServedProgram {
  const procs: Array<[number, RpcProcedure]> = [
    [NsmProc.NULL, { name: 'SM_NULL', idempotent: true, handle: async (c) => c.args.end('void args') }],
    [
      NsmProc.STAT,
      {
        name: 'SM_STAT',
        idempotent: true,
        async handle(call, reply) {
          decodeSmName(call.args);
          encodeStatRes(reply, SmRes.SUCC, nsm.state);
        },
      },
    ],
    [
      NsmProc.MON,
      {
        name: 'SM_MON',
        idempotent: true,
        async handle(call, reply) {
          const { id } = decodeMon(call.args);
          const ok = nsm.monitor(id.monName, myIdKey(id.myId));
          encodeStatRes(reply, ok ? SmRes.SUCC : SmRes.FAIL, nsm.state);
        },
      },
    ],
    [
      NsmProc.UNMON,
      {
        name: 'SM_UNMON',
        idempotent: true,
        async handle(call, reply) {
          const id = decodeMonId(call.args);
          nsm.unmonitor(id.monName, myIdKey(id.myId));
          encodeStat(reply, nsm.state);
        },
      },
    ],
    [
      NsmProc.UNMON_ALL,
      {
        name: 'SM_UNMON_ALL',
        idempotent: true,
        async handle(call, reply) {
          nsm.unmonitorAll(myIdKey(decodeMyId(call.args)));
          encodeStat(reply, nsm.state);
        },
      },
    ],
    [
      NsmProc.NOTIFY,
      {
        name: 'SM_NOTIFY',
        idempotent: true,
        async handle(call) {
          const change = decodeStatChange(call.args);
          env.log.info(
            { client: change.monName, state: change.state },
            `NSM: ${change.monName} rebooted (state ${change.state}); releasing its locks`,
          );
          env.onReboot(change.monName, change.state);
        },
      },
    ],
  ];
  const table = new Map(procs);
  return {
    program: {
      prog: NSM_PROG,
      name: 'NSM',
      low: NSM_VERS,
      high: NSM_VERS,
      procedures: (vers) => (vers === NSM_VERS ? table : undefined),
      acceptsFlavor: (flavor) => flavor === 'none' || flavor === 'sys',
    },
  };
}
