import { equal, ok } from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OpsHttpServer } from '../../src/ops/http-server.ts';

/**
 * The health/admin/tRPC listener's stop. The console polls the gateway every second on one
 * keep-alive connection; before this, a poll in flight when the gateway began to stop kept its
 * connection open and the next poll reused it, so `server.close()` never finished and a
 * SIGTERM'd gateway ran until it was killed (seen in CI: a rolling restart's node did not stop
 * within 10 s).
 */

interface Answer {
  status: number;
  connection: string | undefined;
}

function get(port: number, path: string, agent: http.Agent): Promise<Answer | 'refused'> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.once('error', () => resolve('refused'));
  });
}

async function listening(ops: OpsHttpServer): Promise<number> {
  await ops.listen({ host: '127.0.0.1', port: 0, text: '127.0.0.1:0' });
  const a = ops.server.address();
  ok(a && typeof a === 'object');
  return a.port;
}

test('1 a client polling on one keep-alive connection does not hold up close(): the answer in flight says Connection: close', async () => {
  const ops = new OpsHttpServer();
  let release: (() => void) | undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let calls = 0;
  ops.route('GET', '/poll', async (_req, res) => {
    calls++;
    if (calls === 2) await held; // the poll that is in flight when close() starts
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const port = await listening(ops);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const answers: Array<Answer | 'refused'> = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const a = await get(port, '/poll', agent);
      answers.push(a);
      if (a === 'refused') break;
      await sleep(20);
    }
  })();
  while (calls < 2) await sleep(5);

  let closed = false;
  const closing = ops.close().then(() => {
    closed = true;
  });
  release?.();
  await Promise.race([closing, sleep(3000)]);
  polling = false;
  await poller;
  if (closed) answers.push(await get(port, '/poll', agent));
  agent.destroy();
  if (!closed) ops.server.closeAllConnections();
  ok(closed, `close() finished while the client went on polling (${answers.length} answers meanwhile)`);
  equal((answers[0] as Answer).connection, 'keep-alive', 'before the stop, the connection is kept');
  equal((answers[1] as Answer).status, 200, 'the poll in flight got its answer');
  equal((answers[1] as Answer).connection, 'close', 'and was told the connection ends');
  equal(answers.at(-1), 'refused', 'the next poll finds nothing listening');
  equal(calls, 2, 'no request was served after the one in flight');
});

test('2 a response still streaming is cut after the grace, so close() always finishes', async () => {
  const ops = new OpsHttpServer(200);
  ops.route('GET', '/stream', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first line\n'); // and never ends
  });
  const port = await listening(ops);
  let cut = false;
  const streaming = new Promise<void>((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/stream' }, (res) => {
      res.once('data', () => resolve());
      res.once('close', () => {
        cut = true;
      });
    });
  });
  await streaming;
  let closed = false;
  const closing = ops.close().then(() => {
    closed = true;
  });
  await Promise.race([closing, sleep(3000)]);
  ok(closed, 'close() finished');
  await sleep(50);
  ok(cut, 'the stream was cut');
});
