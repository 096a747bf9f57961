import { equal, match, ok, rejects } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AdminClient, adminBaseUrl } from '../../src/cli/admin-client.ts';
import { drainCommand } from '../../src/cli/commands/drain.ts';
import { CliExit } from '../../src/cli/context.ts';
import { parseListenAddress } from '../../src/config/address.ts';
import type { DrainStatus } from '../../src/ops/drain/controller.ts';
import { fetchText } from '../support/http.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import {
  CFS,
  call,
  capturedLogger,
  FakeServer,
  type InProcessGateway,
  startInProcess,
  type TestConfig,
  until,
  writeGatewayConfig,
} from './fixture.ts';

/**
 * `./cfs gateway drain|undrain|log-level` run as the operator runs them, against a gateway in
 * this process (its admin API trusts the test caller until the real authenticator lands).
 */
describe('./cfs gateway drain, undrain and log-level against a running gateway', () => {
  let cfg: TestConfig;
  let h: InProcessGateway;
  let nfs: FakeServer;
  const logs = capturedLogger('info');

  before(async () => {
    cfg = await writeGatewayConfig('drain-cli');
    h = await startInProcess(cfg.file, { log: logs.log, protocols: ['nfs', 's3', 'smb'] });
    nfs = new FakeServer('nfs', h.gw);
    h.gw.servers.push(nfs);
  });
  after(() => h.stop());

  test('1 drain on an idle gateway exits 0 as soon as the quiet second has passed', async () => {
    const started = performance.now();
    const r = await runCommand(CFS, ['gateway', 'drain', '--config', cfg.file], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /^draining: listeners refuse new connections; waiting up to 30s/m);
    match(r.stdout, /nfs: 0 connections, 0 in flight; s3: 0 connections, 0 in flight; smb: 0 connections/);
    match(r.stdout, /^drained: no request in flight for 1s .*safe to stop the gateway$/m);
    ok(performance.now() - started < 15_000);
    equal(h.gw.draining, true);
    equal(nfs.accepting, false);
  });

  test('2 undrain exits 0 and the listeners accept again', async () => {
    const r = await runCommand(CFS, ['gateway', 'undrain', '--config', cfg.file], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /^serving: listeners accept new connections again/);
    equal(h.gw.draining, false);
    equal(nfs.accepting, true);
  });

  test('3 a request that never ends: exit 2 after --timeout, naming what is still in flight', async () => {
    const conn = nfs.connect(41000);
    ok(conn);
    const end = conn.begin('COMMIT');
    try {
      const started = performance.now();
      const r = await runCommand(CFS, ['gateway', 'drain', '--timeout', '1500ms', '--config', cfg.file], {
        timeoutMs: 60_000,
      });
      equal(r.code, 2, r.output);
      ok(performance.now() - started >= 1500);
      match(r.stdout, /nfs: 1 connection, 1 in flight/);
      match(r.stderr, /^drain timed out after 1\.5s: still in flight: nfs: 1 connection, 1 in flight$/m);
      match(r.stderr, /the gateway keeps draining: stop it anyway, or resume with \.\/cfs gateway undrain/);
      equal(h.gw.draining, true, 'a timed-out drain stays in force');
    } finally {
      end();
      conn.close();
      await call(h.base, 'POST', '/admin/undrain');
    }
  });

  test('4 the same timeout, in process: drainCommand rejects with exit code 2 and prints progress', async () => {
    const conn = nfs.connect(41001);
    ok(conn);
    const end = conn.begin('WRITE');
    const lines: string[] = [];
    try {
      const client = new AdminClient(h.config.health.bind, { token: '' });
      await rejects(
        drainCommand(client, { timeoutMs: 700, pollMs: 50, out: (l) => lines.push(l) }),
        (e: unknown) =>
          e instanceof CliExit &&
          e.exitCode === 2 &&
          /still in flight: nfs: 1 connection, 1 in flight/.test(e.message),
      );
      ok(lines.some((l) => l.includes('nfs: 1 connection, 1 in flight')));
    } finally {
      end();
      conn.close();
      await call(h.base, 'POST', '/admin/undrain');
    }
  });

  test('5 drain, in process: the request ends mid-wait and the command then succeeds', async () => {
    const conn = nfs.connect(41002);
    ok(conn);
    const end = conn.begin('READ');
    setTimeout(end, 300);
    const lines: string[] = [];
    const code = await drainCommand(new AdminClient(h.config.health.bind, { token: '' }), {
      timeoutMs: 10_000,
      pollMs: 50,
      out: (l) => lines.push(l),
    });
    equal(code, 0);
    ok(lines.some((l) => l.includes('nfs: 1 connection, 1 in flight')));
    ok(lines.some((l) => l.includes('nfs: 1 connection, 0 in flight')));
    match(lines.at(-1) ?? '', /^drained:/);
    conn.close();
    await call(h.base, 'POST', '/admin/undrain');
  });

  test('6 log-level refuses an unknown level before calling anyone: exit 2', async () => {
    const r = await runCommand(CFS, ['gateway', 'log-level', 'loud', '--config', cfg.file], {
      timeoutMs: 60_000,
    });
    equal(r.code, 2);
    match(r.stderr, /unknown log level 'loud': choose debug, info, warn, error/);
  });

  test('7 log-level debug takes effect at once: a debug line appears, and the change is audited', async () => {
    const before = logs.lines().length;
    await call(h.base, 'GET', '/admin/drain');
    ok(
      !logs
        .lines()
        .slice(before)
        .some((l) => l.level === 20),
      'no debug line at info',
    );

    const r = await runCommand(CFS, ['gateway', 'log-level', 'debug', '--config', cfg.file], {
      timeoutMs: 60_000,
    });
    equal(r.code, 0, r.output);
    equal(r.stdout, 'log level info -> debug\n');
    equal(h.gw.log.level, 'debug');
    ok(logs.lines().some((l) => l.msg === 'log level info -> debug' && l.to === 'debug'));
    const audit = h.audits.find((a) => a.action === 'gateway.log-level');
    equal((audit?.detail as { level?: string } | undefined)?.level, 'debug');

    await call(h.base, 'GET', '/admin/drain');
    ok(logs.lines().some((l) => l.level === 20 && l.msg === 'drain status: serving'));
    const r2 = await runCommand(CFS, ['gateway', 'log-level', 'info', '--config', cfg.file], {
      timeoutMs: 60_000,
    });
    equal(r2.code, 0, r2.output);
  });

  test('8 the server refuses a bad level with 400 as well', async () => {
    const r = await call<{ error: string }>(h.base, 'POST', '/admin/log-level', { level: 'trace' });
    equal(r.status, 400);
    match(r.body.error, /level must be one of debug, info, warn, error/);
  });
});

describe('./cfs commands when no gateway runs', () => {
  test('1 drain and log-level exit 1 saying nothing answers on health.bind', async () => {
    const cfg = await writeGatewayConfig('drain-none');
    for (const args of [
      ['gateway', 'drain'],
      ['gateway', 'log-level', 'debug'],
      ['gateway', 'undrain'],
    ]) {
      const r = await runCommand(CFS, [...args, '--config', cfg.file], { timeoutMs: 60_000 });
      equal(r.code, 1, r.output);
      match(
        r.stderr,
        new RegExp(
          `no gateway is running: nothing answers on http://127\\.0\\.0\\.1:${cfg.health} \\(health\\.bind\\)`,
        ),
      );
    }
  });

  test('2 a wildcard bind is reached on loopback; IPv6 gets brackets', () => {
    equal(adminBaseUrl(parseListenAddress('0.0.0.0:8080')), 'http://127.0.0.1:8080');
    equal(adminBaseUrl(parseListenAddress('[::]:8080')), 'http://127.0.0.1:8080');
    equal(adminBaseUrl(parseListenAddress('[::1]:8080')), 'http://[::1]:8080');
    equal(adminBaseUrl(parseListenAddress('10.0.0.5:8080')), 'http://10.0.0.5:8080');
  });
});

/**
 * Against `./cfs gateway start` in its own process. Its admin API needs the real
 * authenticator (loopback trust), which another change brings: until it is in, these skip.
 */
describe('./cfs gateway drain against a spawned gateway', () => {
  let cfg: TestConfig;
  let gw: ProcessHandle;
  let authReady = false;

  before(async () => {
    cfg = await writeGatewayConfig('drain-spawned');
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', cfg.file], { name: 'gateway' });
    await gw.waitForLine(/gateway started/, 60_000);
    const probe = await fetchText(`http://127.0.0.1:${cfg.health}/admin/drain`);
    authReady = !(probe.status === 401 && probe.body.includes('authentication is not configured'));
  });
  after(() => gw.stop());

  const needsAuth = (t: { skip(message: string): void }) => {
    if (!authReady)
      t.skip('waits for the admin authenticator (src/ops/admin): loopback trust is not in this build yet');
    return authReady;
  };

  test('1 drain exits 0 quickly on an idle gateway, and /health then reads draining', async (t) => {
    if (!needsAuth(t)) return;
    const started = performance.now();
    const r = await runCommand(CFS, ['gateway', 'drain', '--config', cfg.file], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    ok(performance.now() - started < 15_000);
    const health = await fetchText(`http://127.0.0.1:${cfg.health}/health`);
    equal(health.status, 503);
    match(health.body, /"name":"gateway","status":"unhealthy","message":"draining"/);
  });

  test('2 log-level debug on the running process: its next debug line is printed', async (t) => {
    if (!needsAuth(t)) return;
    const r = await runCommand(CFS, ['gateway', 'log-level', 'debug', '--config', cfg.file], {
      timeoutMs: 60_000,
    });
    equal(r.code, 0, r.output);
    await gw.waitForLine(/log level info -> debug/, 5000);
    await fetchText(`http://127.0.0.1:${cfg.health}/admin/drain`);
    await gw.waitForLine(/"level":20/, 5000);
  });

  test('3 after the drain, SIGTERM stops the process at once', async (t) => {
    if (!needsAuth(t)) return;
    const status = await until(async () => {
      const s = JSON.parse(
        (await fetchText(`http://127.0.0.1:${cfg.health}/admin/drain`)).body,
      ) as DrainStatus;
      return s.drained;
    }, 10_000).then(async () => {
      const started = performance.now();
      const exit = await gw.stop(10_000);
      return { exit, ms: performance.now() - started };
    });
    equal(status.exit.code, 0);
    ok(status.ms < 3000, `stopped in ${status.ms} ms`);
  });
});
