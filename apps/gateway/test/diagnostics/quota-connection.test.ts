import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { quotaEnforcer } from '../../src/ops/quota/feature.ts';
import type { Credential } from '../../src/storage/types.ts';
import { signedBetween } from '../config/fixtures/certificates.ts';
import { freePorts } from '../support/ports.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { type DiagGateway, memoryLogger, opensslTime, path, startDiagGateway, step } from './fixture.ts';

const ALICE: Credential = { uid: 1000, gid: 1000, gids: [] };
const DAY = 86_400_000;

describe('quota wizard: a uid over its soft limit, then at its hard limit', () => {
  let g: DiagGateway;
  const logs = memoryLogger('info');
  let file: bigint;

  before(async () => {
    g = await startDiagGateway('quota', { log: logs.log });
    const exp = await g.gw.ns.ensureDirectory('/export', 0o1777);
    await g.gw.control.quotas.set({
      kind: 'uid',
      subjectId: 1000,
      softBytes: 1000n,
      softUnit: 'KB',
      hardBytes: 1_000_000n,
      hardUnit: 'MB',
    });
    await quotaEnforcer(g.gw)!.refresh();
    file = (await g.gw.ns.create(ALICE, exp.ino, 'data.bin', 0o644)).ino;
    await g.gw.ns.write(ALICE, file, 0n, Buffer.alloc(2000, 1));
  });
  after(() => g.stop());

  test("1 over soft: in grace, the runbook's WARN line was logged, the quota edit offered to admins", async () => {
    const run = await g.as('viewer').diagnostics.run({ tree: 'quota', uid: 1000 });
    assert.deepEqual(path(run), ['subject', 'usage', 'soft-exceeded', 'log-lines']);
    const usage = step(run, 'usage');
    assert.equal(usage.outcome, 'in grace');
    assert.match(usage.summary, /^uid=1000: usage=2KB soft=1KB hard=1MB → in grace, grace 6d 23h left$/);
    const lines = step(run, 'log-lines');
    assert.equal(lines.outcome, 'seen');
    assert.equal(lines.summary, 'logged: WARN: Soft quota exceeded for uid=1000 (usage=2KB/1KB)');
    const edit = run.actions.find((a) => a.request.action === 'quota.set');
    assert.deepEqual(edit?.request, { action: 'quota.set', kind: 'uid', id: 1000, soft: '2KB', hard: '2MB' });
    assert.equal(edit?.minRole, 'admin');
    assert.equal(edit?.cli, './cfs quota set-user --uid 1000 --soft 2KB --hard 2MB');
    assert.ok(edit?.editable?.includes('soft'));
    assert.equal(run.conclusion.verdict, 'warn');
    assert.match(run.conclusion.summary, /uid=1000 is over its soft limit .*writes still succeed for 6d 23h/);
  });

  test('2 the edit is the admin’s: an operator is refused (and audited), an admin’s raise clears the warning', async () => {
    const edit = {
      action: 'quota.set' as const,
      kind: 'uid' as const,
      id: 1000,
      soft: '10KB',
      hard: '1MB',
      tree: 'quota' as const,
    };
    await assert.rejects(
      g.as('operator').diagnostics.remediate(edit),
      (e: unknown) => e instanceof TRPCError && e.code === 'FORBIDDEN',
    );
    const r = await g.as('admin').diagnostics.remediate(edit);
    assert.equal(r.summary, 'quota for uid=1000 set: soft 10KB, hard 1MB (ok)');
    const audit = await g.gw.control.audit.list({ action: 'diagnostics.remediate' });
    assert.deepEqual(audit.map((e) => [e.actor, e.outcome, e.target]).sort(), [
      ['console:admin', 'ok', 'quota.set uid=1000'],
      ['console:operator', 'denied', 'quota.set uid=1000'],
    ]);
    const run = await g.as('viewer').diagnostics.run({ tree: 'quota', uid: 1000 });
    assert.deepEqual(path(run), ['subject', 'usage']);
    assert.equal(run.conclusion.verdict, 'pass');
  });

  test("3 at the hard limit a write is refused: the wizard shows the runbook's options and the ERROR line", async () => {
    await g.gw.control.quotas.set({
      kind: 'uid',
      subjectId: 1000,
      softBytes: null,
      hardBytes: 2000n,
      hardUnit: 'KB',
    });
    await quotaEnforcer(g.gw)!.refresh();
    await assert.rejects(
      g.gw.ns.write(ALICE, file, 2000n, Buffer.from('x')),
      (e: { code?: string }) => e.code === 'EDQUOT',
    );
    const run = await g.as('viewer').diagnostics.run({ tree: 'quota', uid: 1000 });
    assert.deepEqual(path(run), ['subject', 'usage', 'hard-exceeded', 'log-lines']);
    assert.equal(step(run, 'usage').outcome, 'over hard');
    assert.match(
      step(run, 'hard-exceeded').summary,
      /1\. delete data .* 2\. raise the quota .* 3\. a longer grace period/,
    );
    assert.equal(
      step(run, 'log-lines').summary,
      'logged: ERROR: Hard quota exceeded for uid=1000 (usage=2KB/2KB)',
    );
    assert.equal(run.conclusion.verdict, 'fail');
  });

  test('3b below the hard limit, a write that would pass it was refused: the wizard says so, not "writes still succeed"', async () => {
    await g.gw.control.quotas.set({
      kind: 'uid',
      subjectId: 1000,
      softBytes: null,
      hardBytes: 10_000n,
      hardUnit: 'KB',
    });
    await quotaEnforcer(g.gw)!.refresh();
    await assert.rejects(
      g.gw.ns.write(ALICE, file, 2000n, Buffer.alloc(20_000, 2)),
      (e: { code?: string }) => e.code === 'EDQUOT',
    );
    const run = await g.as('viewer').diagnostics.run({ tree: 'quota', uid: 1000 });
    assert.deepEqual(path(run), ['subject', 'usage', 'hard-exceeded', 'log-lines']);
    const usage = step(run, 'usage');
    assert.equal(usage.outcome, 'over hard');
    assert.match(
      usage.because ?? '',
      /a write was refused at the hard limit at \d{4}-.*: usage 2KB \+ 20KB asked > hard 10KB$/,
    );
    assert.equal(run.conclusion.verdict, 'fail');
    assert.match(run.conclusion.summary, /uid=1000 was refused a write that would pass its hard limit/);
    // Limits set again since: that refusal says nothing of them.
    await g.gw.control.quotas.set({
      kind: 'uid',
      subjectId: 1000,
      softBytes: null,
      hardBytes: 100_000n,
      hardUnit: 'KB',
    });
    await quotaEnforcer(g.gw)!.refresh();
    const after = await g.as('viewer').diagnostics.run({ tree: 'quota', uid: 1000 });
    assert.equal(step(after, 'usage').outcome, 'ok');
  });

  test('4 a uid with no quota: nothing limits it', async () => {
    const run = await g.as('viewer').diagnostics.run({ tree: 'quota', uid: 4242 });
    assert.deepEqual(path(run), ['subject']);
    assert.equal(run.conclusion.verdict, 'pass');
    assert.match(run.conclusion.summary, /uid=4242 has no quota/);
    await assert.rejects(
      g.as('viewer').diagnostics.run({ tree: 'quota' }),
      (e: unknown) => e instanceof TRPCError && e.code === 'BAD_REQUEST',
    );
  });
});

describe('connection wizard: an HTTPS S3 listener whose certificate expires in 5 days', () => {
  let g: DiagGateway;

  before(async () => {
    const dir = makeTempDir('diag-tls');
    const now = Date.now();
    const pair = signedBetween(
      dir,
      'soon',
      opensslTime(new Date(now - DAY)),
      opensslTime(new Date(now + 5 * DAY + 3_600_000)),
    );
    g = await startDiagGateway('connection', {
      s3: `s3: { bind: 127.0.0.1:S3PORT, domain: gateway.claudefs.local, tls: { cert: ${pair.cert}, key: ${pair.key} } }`,
      protocols: ['s3'],
    });
  });
  after(() => g.stop());

  test('1 handshake as a client, dates, chain, host name, then every listener: warns of the expiry', async () => {
    const run = await g.as('viewer').diagnostics.run({ tree: 'connection' });
    assert.deepEqual(path(run), [
      'tls-configured',
      'tls-handshake',
      'cert-dates',
      'chain',
      'hostname',
      'firewall',
    ]);
    const hs = step(run, 'tls-handshake');
    assert.equal(hs.outcome, 'ok');
    assert.equal(hs.measured.servername, 'gateway.claudefs.local');
    assert.equal(hs.measured.servedMatchesFile, true);
    assert.match(String(hs.measured.authorizationError), /SELF_SIGNED|self.signed/i);
    assert.match(
      hs.commands?.runbook[0] ?? '',
      /^openssl s_client -connect 127\.0\.0\.1:\d+ -servername gateway\.claudefs\.local -showcerts <\/dev\/null 2>\/dev\/null \| openssl x509 -noout -dates$/,
    );
    const dates = step(run, 'cert-dates');
    assert.equal(dates.outcome, 'expiring');
    assert.equal(dates.measured.daysLeft, 5);
    assert.equal(step(run, 'chain').outcome, 'self-signed');
    assert.equal(step(run, 'hostname').outcome, 'match');
    const fw = step(run, 'firewall');
    assert.equal(fw.outcome, 'open');
    assert.deepEqual(
      (fw.measured.endpoints as Array<{ name: string; ok: boolean }>).map((e) => [e.name, e.ok]),
      [
        ['health', true],
        ['S3 (https)', true],
      ],
    );
    assert.equal(run.conclusion.verdict, 'warn');
    assert.match(run.conclusion.summary, /the S3 certificate expires in 5 days/);
  });

  test('2 a support bundle of that run: health, metrics, locks, redacted config, the transcript, log lines', async () => {
    const owner = { protocol: 'nfs', key: 'build-7:12:owner', client: 'build-7' };
    assert.ok(g.gw.ns.locks.lock({ ino: 42n, offset: 0n, length: 0n, exclusive: true, owner }).granted);
    const run = await g.as('viewer').diagnostics.run({ tree: 'connection' });
    const b = await g.as('viewer').diagnostics.bundle({ runId: run.id });
    assert.equal(b.format, 'claudefs-support-bundle/1');
    assert.deepEqual(
      b.runs.map((r) => r.id),
      [run.id],
    );
    assert.ok(b.health.checks.some((c) => c.name === 's3'));
    assert.equal(typeof b.metrics.connections.max, 'number');
    assert.equal((b.config as { s3: { domain: string } }).s3.domain, 'gateway.claudefs.local');
    assert.ok(Array.isArray(b.logs));
    assert.match(b.logNote, /at log level error/);
    assert.equal(b.lastReload, null, 'not reloaded since start');
    assert.deepEqual(
      b.locks.locks.map((l) => [l.protocol, l.holder, l.ino, l.length, l.exclusive]),
      [['nfs', 'build-7', '42', 'to end', true]],
    );
    g.gw.ns.locks.unlock(42n, 0n, 0n, owner.key);
    await assert.rejects(
      g.as('viewer').diagnostics.bundle({ runId: 'gone' }),
      (e: unknown) => e instanceof TRPCError && e.code === 'NOT_FOUND',
    );
  });
});

describe('diagnostics: connection, an NFS client the network lets through but an export refuses', () => {
  let g: DiagGateway;
  let nfsPort = 0;
  let mountPort = 0;
  before(async () => {
    [nfsPort = 0, mountPort = 0] = await freePorts(2);
    g = await startDiagGateway('mount-refused', {
      nfs: `nfs: { bind: 127.0.0.1:${nfsPort}, mount_bind: 127.0.0.1:${mountPort}, exports: [{ path: /export }, { path: /restricted, clients: [10.99.0.0/16] }] }`,
      protocols: ['nfs'],
      log: memoryLogger('info').log,
    });
  });
  after(() => g.stop());

  test(
    '1 nfs-ls is refused (MNT3ERR_ACCES); the firewall step says the export refused it, naming its clients, not a firewall',
    requireTools('nfs-ls'),
    async () => {
      const ls = await runCommand('nfs-ls', [
        `nfs://127.0.0.1/restricted?nfsport=${nfsPort}&mountport=${mountPort}&version=3`,
      ]);
      assert.notEqual(ls.code, 0, ls.output);
      const run = await g.as('viewer').diagnostics.run({ tree: 'connection' });
      const fw = step(run, 'firewall');
      assert.equal(fw.verdict, 'fail');
      assert.match(
        fw.summary,
        /every endpoint accepts a TCP connect, but 1 NFS mount was refused by the gateway recently/,
      );
      assert.match(
        run.conclusion.findings.join('\n'),
        /MOUNT of \/restricted refused to 127\.0\.0\.1: not in the clients of export \/restricted \(10\.99\.0\.0\/16\) — add the client to that export's clients/,
      );
      assert.equal(run.conclusion.verdict, 'fail');
    },
  );
});
