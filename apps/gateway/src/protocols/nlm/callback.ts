import { hostname } from 'node:os';
import type { Logger } from '../../daemon/logger.ts';
import { getPort } from '../portmap/registrar.ts';
import { rpcCallOnce } from '../rpc/client.ts';
import { AcceptStat, IPPROTO_TCP } from '../rpc/constants.ts';
import { decodeRes, encodeTestArgs, NLM_PROG, NLM_VERS, Nlm4Stat, NlmProc } from './codec.ts';
import type { GrantedCallback } from './lock-manager.ts';

const ATTEMPTS = 3;
const RETRY_MS = 2000;
const TIMEOUT_MS = 5000;

export interface CallbackOptions {
  /** Where the client's portmapper listens (111); tests point it elsewhere. */
  portmapPort?: number;
  /** Skips the portmapper: the client's NLM port is known (tests). */
  nlmPort?: (address: string) => Promise<number>;
}

function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * NLM4_GRANTED to the client that asked for a blocking lock: its NLM port comes from its
 * portmapper (GETPORT 100021 v4 TCP), then a synchronous GRANTED call over TCP carrying the
 * lock and the cookie of the LOCK request. A few attempts; true when the client answered
 * NLM4_GRANTED.
 */
export function portmapGrantedCallback(log: Logger, o: CallbackOptions = {}): GrantedCallback {
  const machine = hostname().slice(0, 255);
  return async ({ address, lock, exclusive, cookie }) => {
    const host = unmapped(address);
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const port = o.nlmPort
          ? await o.nlmPort(host)
          : await getPort(
              host,
              { prog: NLM_PROG, vers: NLM_VERS, prot: IPPROTO_TCP },
              { port: o.portmapPort ?? 111 },
            );
        if (port === 0) throw new Error(`no NLM v4 over TCP registered on ${host}`);
        const reply = await rpcCallOnce(
          host,
          port,
          {
            prog: NLM_PROG,
            vers: NLM_VERS,
            proc: NlmProc.GRANTED,
            cred: { flavor: 'sys', stamp: 0, machine, uid: 0, gid: 0, gids: [] },
            args: encodeTestArgs({ cookie, exclusive, lock }),
          },
          TIMEOUT_MS,
        );
        if (reply.status !== 'accepted' || reply.stat !== AcceptStat.SUCCESS) {
          throw new Error(`GRANTED callback refused: ${reply.status}`);
        }
        return decodeRes(reply.results).stat === Nlm4Stat.GRANTED;
      } catch (e) {
        log.debug({ err: e, client: host, attempt }, 'NLM GRANTED callback attempt failed');
        if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
    return false;
  };
}
