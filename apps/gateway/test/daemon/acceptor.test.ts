import { equal, ok, rejects } from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Acceptor } from '../../src/protocols/acceptor.ts';

/** Whether a TCP connection to the port is accepted (and closed at once). */
function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function acceptor(port = 0): { a: Acceptor; accepted: net.Socket[] } {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  return { a: new Acceptor(server, { host: '127.0.0.1', port, backlog: 16 }), accepted };
}

test('1 a drain closes the listening socket and keeps accepted connections; an undrain binds the same port again', async () => {
  const { a, accepted } = acceptor();
  equal(a.notListening, 'not listening yet');
  await a.listen();
  const port = a.port;
  ok(port > 0, 'the kernel picked a port');
  const kept = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => kept.once('connect', r));
  await a.setAccepting(false);
  equal(a.notListening, 'not accepting connections (drain)');
  equal(await connects(port), false, 'refused while draining');
  ok(!kept.destroyed, 'the connection accepted before the drain is still open');
  await a.setAccepting(true);
  equal(a.port, port, 'the same port as before the drain');
  equal(await connects(port), true);
  kept.destroy();
  for (const s of accepted) s.destroy();
  await a.stop();
  equal(a.notListening, 'stopped');
  equal(await connects(port), false);
  await a.setAccepting(true);
  equal(await connects(port), false, 'a stopped acceptor does not start again');
});

test('2 drains and undrains in quick succession, some while a bind is in progress: the last call decides', async () => {
  const { a } = acceptor();
  await Promise.all([a.listen(), a.listen(), a.setAccepting(true)]);
  ok(a.isListening);
  const port = a.port;
  // Undrain, drain, undrain, drain in one go: it ends drained.
  await Promise.all([
    a.setAccepting(true),
    a.setAccepting(false),
    a.setAccepting(true),
    a.setAccepting(false),
  ]);
  equal(await connects(port), false);
  await Promise.all([a.setAccepting(true), a.setAccepting(true)]);
  equal(await connects(port), true);
  await a.stop();
});

test('3 a port taken by another process is an error from listen, and nothing is left half-bound', async () => {
  const other = net.createServer();
  await new Promise<void>((r) => other.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (other.address() as net.AddressInfo).port;
  const { a } = acceptor(port);
  await rejects(a.listen(), /EADDRINUSE/);
  ok(!a.isListening);
  await new Promise((r) => other.close(r));
  await a.listen();
  equal(await connects(port), true);
  await a.stop();
});
