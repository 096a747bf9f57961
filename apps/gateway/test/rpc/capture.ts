import net from 'node:net';
import { RecordDecoder } from '../../src/protocols/rpc/record.ts';

/**
 * A TCP proxy in front of a listener that keeps every record the clients send: golden call
 * frames from real clients (libnfs, rpcinfo), captured at test time.
 */
export async function recordingProxy(
  targetPort: number,
): Promise<{ port: number; records: Buffer[]; close(): void }> {
  const records: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    const decoder = new RecordDecoder(64 * 1024 * 1024);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      decoder.push(Buffer.from(chunk));
      for (let r = decoder.next(); r; r = decoder.next()) records.push(r);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    records,
    close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}
