import type { XdrReader } from '../xdr/reader.ts';
import { XdrWriter } from '../xdr/writer.ts';

/** Portmapper version 2 (RFC 1833 §3): program 100000, procedures over TCP or UDP port 111. */
export const PMAP_PROG = 100000;
export const PMAP_VERS = 2;
export const PMAP_PORT = 111;

export const PmapProc = { NULL: 0, SET: 1, UNSET: 2, GETPORT: 3, DUMP: 4 } as const;

/** struct mapping (RFC 1833 §3.1). */
export interface PortMapping {
  prog: number;
  vers: number;
  /** IPPROTO_TCP (6) or IPPROTO_UDP (17). */
  prot: number;
  port: number;
}

export function encodeMapping(m: PortMapping): Buffer {
  return new XdrWriter(16).uint32(m.prog).uint32(m.vers).uint32(m.prot).uint32(m.port).toBuffer();
}

/** SET and UNSET answer a bool. */
export function decodeBool(r: XdrReader): boolean {
  const v = r.bool('pmap.result');
  r.end('pmap result');
  return v;
}

/** GETPORT answers the port, 0 when the program is not registered. */
export function decodePort(r: XdrReader): number {
  const port = r.uint32('pmap.port');
  r.end('pmap result');
  return port;
}

/** DUMP: a linked list of mappings (`*pmaplist`). */
export function decodeDump(r: XdrReader): PortMapping[] {
  const out: PortMapping[] = [];
  while (r.bool('pmaplist.more')) {
    out.push({
      prog: r.uint32('map.prog'),
      vers: r.uint32('map.vers'),
      prot: r.uint32('map.prot'),
      port: r.uint32('map.port'),
    });
    if (out.length > 100_000) break;
  }
  return out;
}
