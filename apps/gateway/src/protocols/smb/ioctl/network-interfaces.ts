import { isIPv4, isIPv6 } from 'node:net';
import { Writer } from '../wire/writer.ts';

const AF_INET = 0x0002;
const AF_INET6 = 0x0017;
/** 10 Gbit/s: what the interface list claims (the client only compares interfaces). */
const LINK_SPEED = 10_000_000_000n;

/** NETWORK_INTERFACE_INFO (MS-SMB2 §2.2.32.5): one entry, the address this connection reached. */
export function networkInterfaces(localAddress: string): Buffer {
  const w = new Writer(152);
  const addr = localAddress.startsWith('::ffff:') ? localAddress.slice(7) : localAddress;
  w.u32(0).u32(1).u32(0).u32(0).u64(LINK_SPEED);
  const storage = Buffer.alloc(128);
  if (isIPv4(addr)) {
    storage.writeUInt16LE(AF_INET, 0);
    Buffer.from(addr.split('.').map(Number)).copy(storage, 4);
  } else if (isIPv6(addr)) {
    storage.writeUInt16LE(AF_INET6, 0);
    ipv6Bytes(addr).copy(storage, 8);
  }
  w.bytes(storage);
  return w.finish();
}

function ipv6Bytes(addr: string): Buffer {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g || '0', 16) & 0xffff, i * 2);
  });
  return out;
}
