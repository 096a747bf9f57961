import type { Logger } from '../../daemon/logger.ts';
import { RpcClient } from '../rpc/client.ts';
import { AcceptStat } from '../rpc/constants.ts';
import type { RpcReply } from '../rpc/message.ts';
import type { XdrReader } from '../xdr/reader.ts';
import {
  decodeBool,
  decodePort,
  encodeMapping,
  PMAP_PORT,
  PMAP_PROG,
  PMAP_VERS,
  PmapProc,
  type PortMapping,
} from './codec.ts';

export interface PortmapTarget {
  host: string;
  port: number;
}

export const LOCAL_PORTMAPPER: PortmapTarget = { host: '127.0.0.1', port: PMAP_PORT };

const TIMEOUT_MS = 2000;

function results<T>(reply: RpcReply, what: string, decode: (r: XdrReader) => T): T {
  if (reply.status !== 'accepted' || reply.stat !== AcceptStat.SUCCESS) {
    throw new Error(`portmapper refused ${what}: ${reply.status}${'stat' in reply ? ` ${reply.stat}` : ''}`);
  }
  return decode(reply.results);
}

/**
 * Registers the gateway's programs with the local portmapper (RFC 1833 version 2, SET/UNSET
 * over TCP) so `rpcinfo -p` and `showmount -e` find them, and removes them on a clean stop.
 * Without a portmapper the gateway serves anyway: clients then name the ports.
 */
export class PortmapRegistrar {
  private registered: PortMapping[] = [];

  constructor(
    private readonly log: Logger,
    private readonly target: PortmapTarget = LOCAL_PORTMAPPER,
  ) {}

  get mappings(): readonly PortMapping[] {
    return this.registered;
  }

  /** True when every mapping was set; false (logged once) when no portmapper answers. */
  async register(mappings: PortMapping[]): Promise<boolean> {
    let client: RpcClient;
    try {
      client = await RpcClient.connect(this.target.host, this.target.port, { timeoutMs: TIMEOUT_MS });
    } catch {
      this.log.warn(
        `rpcbind not running on ${this.target.host}:${this.target.port}; NFS programs not registered (clients must name ports)`,
      );
      return false;
    }
    let all = true;
    try {
      // A mapping left by an earlier run (crash, rpcbind warm start) makes SET fail: unset first.
      for (const key of new Set(mappings.map((m) => `${m.prog}/${m.vers}`))) {
        const [prog, vers] = key.split('/').map(Number) as [number, number];
        await this.call(client, PmapProc.UNSET, { prog, vers, prot: 0, port: 0 });
      }
      for (const m of mappings) {
        if (await this.call(client, PmapProc.SET, m)) {
          this.registered.push(m);
        } else {
          all = false;
          this.log.warn(m, `rpcbind refused to register program ${m.prog} version ${m.vers}`);
        }
      }
    } catch (e) {
      all = false;
      this.log.warn({ err: e }, 'registering NFS programs with rpcbind failed; clients must name ports');
    } finally {
      client.close();
    }
    return all;
  }

  /** Removes what register() set (clean stop). Errors are logged, never thrown. */
  async unregister(): Promise<void> {
    if (this.registered.length === 0) return;
    const keys = new Set(this.registered.map((m) => `${m.prog}/${m.vers}`));
    this.registered = [];
    let client: RpcClient | undefined;
    try {
      client = await RpcClient.connect(this.target.host, this.target.port, { timeoutMs: TIMEOUT_MS });
      for (const key of keys) {
        const [prog, vers] = key.split('/').map(Number) as [number, number];
        await this.call(client, PmapProc.UNSET, { prog, vers, prot: 0, port: 0 });
      }
    } catch (e) {
      this.log.warn({ err: e }, 'could not unregister NFS programs from rpcbind');
    } finally {
      client?.close();
    }
  }

  private async call(client: RpcClient, proc: number, m: PortMapping): Promise<boolean> {
    const reply = await client.call({
      prog: PMAP_PROG,
      vers: PMAP_VERS,
      proc,
      args: encodeMapping(m),
    });
    return results(reply, proc === PmapProc.SET ? 'SET' : 'UNSET', decodeBool);
  }
}

/** PMAPPROC_GETPORT on `host`'s portmapper: the port, or 0 when the program is not registered. */
export async function getPort(
  host: string,
  m: Omit<PortMapping, 'port'>,
  target: Omit<PortmapTarget, 'host'> = { port: PMAP_PORT },
  timeoutMs = TIMEOUT_MS,
): Promise<number> {
  const client = await RpcClient.connect(host, target.port, { timeoutMs });
  try {
    const reply = await client.call({
      prog: PMAP_PROG,
      vers: PMAP_VERS,
      proc: PmapProc.GETPORT,
      args: encodeMapping({ ...m, port: 0 }),
    });
    return results(reply, 'GETPORT', decodePort);
  } finally {
    client.close();
  }
}
