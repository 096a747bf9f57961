import net, { type AddressInfo } from 'node:net';

/**
 * A man in the middle on 127.0.0.1: each connection is relayed to `targetPort`, and every
 * chunk the client sends passes through `edit` first, with the number of bytes the client sent
 * before it. `edit` answers the bytes to pass on (changed or not), or 'cut' to close both sides
 * there, as a dropped network would. `fromServer` sees each chunk the server answers.
 */
export async function relayProxy(
  targetPort: number,
  edit: (chunk: Buffer, sentBefore: number) => Buffer | 'cut',
  fromServer?: (chunk: Buffer) => void,
): Promise<{ port: number; close(): void }> {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      const out = edit(chunk, sent);
      sent += chunk.length;
      if (out === 'cut') {
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(out);
    });
    upstream.on('data', (c: Buffer) => {
      fromServer?.(c);
      client.write(c);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}
