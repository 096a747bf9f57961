import {
  decodeRes,
  encodeLockArgs,
  encodeUnlockArgs,
  NLM_PROG,
  NLM_VERS,
  type Nlm4Lock,
  NlmProc,
} from '../../src/protocols/nlm/codec.ts';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import type { RpcCred } from '../../src/protocols/rpc/program.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';

export const NLM_CRED: RpcCred = {
  flavor: 'sys',
  stamp: 0,
  machine: 'client-a',
  uid: 1000,
  gid: 1000,
  gids: [],
};

/**
 * NLM v4 calls over the NFS port, as a client's lockd makes them (the kernel client cannot
 * mount here): any procedure of NLM or NSM, and LOCK / UNLOCK decoded.
 */
export class NlmTestClient {
  private constructor(private readonly rpc: RpcClient) {}

  static async connect(port: number): Promise<NlmTestClient> {
    return new NlmTestClient(await RpcClient.connect('127.0.0.1', port));
  }

  /** One call's results; throws unless it was accepted with SUCCESS. */
  async call(proc: number, args: Buffer, prog = NLM_PROG, vers = NLM_VERS): Promise<XdrReader> {
    const r = await this.rpc.call({ prog, vers, proc, cred: NLM_CRED, args });
    if (r.status !== 'accepted' || r.stat !== AcceptStat.SUCCESS)
      throw new Error(`not a SUCCESS: ${JSON.stringify(r)}`);
    return r.results;
  }

  async lock(l: Nlm4Lock, exclusive = true, block = false, cookie: Buffer = Buffer.from('c1')) {
    const args = encodeLockArgs({ cookie, block, exclusive, lock: l, reclaim: false, state: 3 });
    return decodeRes(await this.call(NlmProc.LOCK, args));
  }

  async unlock(l: Nlm4Lock) {
    return decodeRes(
      await this.call(NlmProc.UNLOCK, encodeUnlockArgs({ cookie: Buffer.from('u'), lock: l })),
    );
  }

  close(): void {
    this.rpc.close();
  }
}
