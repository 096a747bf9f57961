import { deepEqual, equal, match, ok } from 'node:assert/strict';
import net from 'node:net';

import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { SmbServer } from '../../src/protocols/smb/server.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import type { SmbStatus } from '../../src/protocols/smb/status-report.ts';
import { getJson } from '../support/http.ts';
import { runCommand } from '../support/proc.ts';
import { createBody, echoBody, fileIdOf, lockBody, TestClient, writeBody } from './client.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

function smbServer(g: SmbGateway): SmbServer {
  const s = g.gw.servers.find((x): x is SmbServer => x instanceof SmbServer);
  if (!s) throw new Error('no SMB server');
  return s;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('SMB operations: health, drain, status, shares, stop', () => {
  let g: SmbGateway;
  let c: TestClient;
  before(async () => {
    g = await startSmbGateway({
      shares: ['{ name: team, path: /team, valid_groups: [staff, ops], read_only: true }'],
    });
    await g.user('alice', 'Wonder-land1');
    c = new TestClient(g.port);
    await c.connect();
    await c.negotiate([0x0210, 0x0300]);
    await c.logon('alice', 'Wonder-land1');
    await c.treeConnect('export');
  });
  after(async () => {
    c?.close();
    await g?.stop();
  });

  test('1 the smb health check negotiates with its own listener', async () => {
    const check = smbServer(g).healthCheck();
    equal(check.name, 'smb');
    equal(await check.run(), undefined);
    await g.gw.health.probeAll();
    const h = await getJson<{ checks: Array<{ name: string; status: string }> }>(
      `http://127.0.0.1:${g.opsPort}/health`,
    );
    equal(h.checks.find((x) => x.name === 'smb')?.status, 'healthy');
  });

  test('2 the connection registry shows the SMB session: user, dialect, signing, encryption', () => {
    const conns = g.gw.connections.list().filter((x) => x.protocol === 'smb');
    const mine = conns.find((x) => x.user === 'alice');
    ok(mine, JSON.stringify(conns));
    equal(mine.details.dialect, 'SMB3_00');
    equal(mine.details.signing, false);
    equal(mine.details.sessions, 1);
    ok(typeof mine.details.encryption === 'string');
  });

  test('3 ./cfs smb status --json lists the session, its tree, the open file and its byte-range lock', async () => {
    const r = await c.request({
      command: CMD.CREATE,
      body: createBody('status.bin', { access: 0x12019f, disposition: 5 }),
    });
    const fid = fileIdOf(r);
    await c.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.alloc(64)) });
    equal(
      (await c.request({ command: CMD.LOCK, body: lockBody(fid, [{ offset: 8n, length: 8n, flags: 0x12 }]) }))
        .status,
      0,
    );
    const out = await runCommand(CFS, ['smb', 'status', '--json', '--config', g.configFile], {
      timeoutMs: 60_000,
    });
    equal(out.code, 0, out.output);
    const s = JSON.parse(out.stdout) as SmbStatus;
    equal(s.sessions[0]?.user, 'alice');
    equal(s.sessions[0]?.dialect, 'SMB3_00');
    deepEqual(
      s.trees.map((t) => t.share),
      ['export'],
    );
    ok(
      s.openFiles.some((o) => o.path === 'export\\status.bin' && o.kind === 'file'),
      JSON.stringify(s.openFiles),
    );
    const lock = s.locks.find((l) => l.path === 'export\\status.bin');
    ok(lock, JSON.stringify(s.locks));
    equal(lock.offset, '8');
    equal(lock.length, '8');
    equal(lock.exclusive, true);
    const text = await runCommand(CFS, ['smb', 'status', '--config', g.configFile], { timeoutMs: 60_000 });
    equal(text.code, 0, text.output);
    for (const section of ['Sessions', 'Tree connects', 'Open files', 'Byte-range locks'])
      match(text.stdout, new RegExp(`^${section}$`, 'm'));
    match(text.stdout, /alice/);
  });

  test("3b ./cfs smb close: an operator closes a client's open; its share mode and lock go, its handle is closed, audited", async () => {
    const r = await c.request({
      command: CMD.CREATE,
      body: createBody('held-open.bin', { access: 0x12019f, disposition: 5, share: 0 }),
    });
    const fid = fileIdOf(r);
    equal(
      (await c.request({ command: CMD.LOCK, body: lockBody(fid, [{ offset: 0n, length: 4n, flags: 0x12 }]) }))
        .status,
      0,
    );
    const other = new TestClient(g.port);
    try {
      await other.connect();
      await other.negotiate([0x0300]);
      await other.logon('alice', 'Wonder-land1');
      await other.treeConnect('export');
      const open = () =>
        other.request({
          command: CMD.CREATE,
          body: createBody('held-open.bin', { access: 0x12019f, disposition: 1 }),
        });
      equal((await open()).status, NT_STATUS.STATUS_SHARING_VIOLATION, 'held open, sharing nothing');

      const status = JSON.parse(
        (await runCommand(CFS, ['smb', 'status', '--json', '--config', g.configFile], { timeoutMs: 60_000 }))
          .stdout,
      ) as SmbStatus;
      const row = status.openFiles.find((o) => o.path === 'export\\held-open.bin');
      ok(row, JSON.stringify(status.openFiles));
      const closed = await runCommand(
        CFS,
        ['smb', 'close', row.session, row.fileId, '--config', g.configFile],
        {
          timeoutMs: 60_000,
        },
      );
      equal(closed.code, 0, closed.output);
      match(closed.stdout, /^Closed export\\held-open\.bin \(session 0x[0-9a-f]+, FileId 0x[0-9a-f]+\)\.$/m);

      const reopened = await open();
      equal(reopened.status, 0, 'the share mode went with the open');
      const relock = await other.request({
        command: CMD.LOCK,
        body: lockBody(fileIdOf(reopened), [{ offset: 0n, length: 4n, flags: 0x12 }]),
      });
      equal(relock.status, 0, 'and so did its lock');
      const stale = await c.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('late')) });
      equal(stale.status, NT_STATUS.STATUS_FILE_CLOSED, "the client's handle is closed");

      const again = await runCommand(CFS, [
        'smb',
        'close',
        row.session,
        row.fileId,
        '--config',
        g.configFile,
      ]);
      equal(again.code, 1);
      match(
        again.stderr,
        /no open file 0x[0-9a-f]+ in session 0x[0-9a-f]+ \(\.\/cfs smb status lists them\)/,
      );
      const audit = await g.gw.control.audit.list({ action: 'smb.close' });
      deepEqual(audit.map((e) => [e.target, e.outcome]).reverse(), [
        [`smb-open:${row.session}/${row.fileId}`, 'ok'],
        [`smb-open:${row.session}/${row.fileId}`, 'error'],
      ]);
    } finally {
      other.close();
    }
  });

  test('4 ./cfs smb shares prints the effective settings, as testparm -s would', async () => {
    const r = await runCommand(CFS, ['smb', 'shares', '--config', g.configFile], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /^\[global\]$/m);
    match(r.stdout, /^\tworkgroup = CLAUDEFS$/m);
    match(r.stdout, /^\[team\]$/m);
    match(r.stdout, /^\tread only = Yes$/m);
    match(r.stdout, /^\tvalid groups = @staff @ops$/m);
    const j = JSON.parse(
      (await runCommand(CFS, ['smb', 'shares', '--json', '--config', g.configFile])).stdout,
    );
    equal(j.shares[0].path, '/export');
  });

  test('5 drain: new connections are refused, the open one keeps working; undrain accepts again', async () => {
    const server = smbServer(g);
    server.setAccepting(false);
    try {
      ok(await refused(g.port), 'a new connection is refused while draining');
      equal((await c.request({ command: CMD.ECHO, body: echoBody() })).status, 0);
      const h = await server.healthCheck().run();
      equal(h?.status, 'degraded');
    } finally {
      server.setAccepting(true);
    }
    await new Promise((r) => setTimeout(r, 100));
    ok(!(await refused(g.port)));
  });

  test('6 stop() does not wait for an idle connection: it closes it and returns at once', async () => {
    const other = await startSmbGateway();
    await other.user('bob', 'Builder-2');
    const idle = new TestClient(other.port);
    await idle.connect();
    await idle.negotiate();
    await idle.logon('bob', 'Builder-2');
    const started = performance.now();
    await other.stop();
    ok(performance.now() - started < 3000, `stop took ${performance.now() - started} ms`);
    await idle.closedPromise;
    ok(idle.closed);
  });

  test('7 the status route answers 404 when the gateway serves no SMB', async () => {
    const none = await startSmbGateway({ protocols: ['s3'] });
    try {
      const r = await runCommand(CFS, ['smb', 'status', '--config', none.configFile], { timeoutMs: 60_000 });
      equal(r.code, 1);
      match(r.stderr, /serves no SMB/);
    } finally {
      await none.stop();
    }
  });
});
