import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ControlError, type ControlPlane, openControlPlane } from '../../src/control/index.ts';
import { type PostgresServer, requirePostgres, startPostgres } from '../support/postgres.ts';
import { tempDir } from './helpers.ts';

const unavailable = (server: PostgresServer) => (e: unknown) =>
  e instanceof ControlError &&
  e.code === 'UNAVAILABLE' &&
  e.message.startsWith(`control plane database postgres://postgres@127.0.0.1:${server.port}/`) &&
  e.message.includes('(schema cfs_control) is unavailable: ');

describe('a PostgreSQL outage under the control plane', requirePostgres(), () => {
  let server: PostgresServer;
  let url: string;
  let cp: ControlPlane;
  const connectionErrors: string[] = [];
  const tmp = tempDir();

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
    cp = await openControlPlane({
      stateDir: tmp.dir,
      url,
      onConnectionError: (e) => connectionErrors.push(e.message),
    });
    await cp.users.add({ name: 'alice' });
  });
  after(async () => {
    await cp?.close();
    await server?.destroy();
    tmp[Symbol.dispose]();
  });

  test('1 a crash with operations in flight: each settles, none ends the process, the next ones fail clearly', async () => {
    const inFlight = Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? cp.users.list()
          : cp.audit.record({ actor: 't', action: 'a', target: 'x', outcome: 'ok' }),
      ),
    );
    await server.kill();
    for (const s of await inFlight) {
      if (s.status === 'rejected') assert.ok(unavailable(server)(s.reason), String(s.reason));
    }
    await assert.rejects(cp.users.get('alice'), unavailable(server));
    await assert.rejects(cp.s3Keys.lookup('CFSNOSUCHKEY00000000'), unavailable(server));
  });

  test('2 once the server is back, the same control plane works again by itself', async () => {
    await server.start();
    assert.equal((await cp.users.get('alice'))?.uid, 1000);
    await cp.groups.ensure('after-outage');
    assert.ok((await cp.groups.list()).some((g) => g.name === 'after-outage'));
  });

  test('3 a fast shutdown drops idle pooled connections: heard, not fatal', async () => {
    const before = connectionErrors.length;
    await server.stop();
    await assert.rejects(cp.users.list(), unavailable(server));
    assert.ok(connectionErrors.length > before, 'the idle connections reported their end');
    assert.ok(
      connectionErrors.slice(before).every((m) => /terminat|connection/i.test(m)),
      connectionErrors.join('\n'),
    );
    await server.start();
    assert.equal((await cp.users.list()).length, 1);
  });

  test('4 opening while the server is down fails at once with the same clear error', async () => {
    await server.stop();
    try {
      await assert.rejects(openControlPlane({ stateDir: tmp.dir, url }), unavailable(server));
    } finally {
      await server.start();
    }
  });
});
