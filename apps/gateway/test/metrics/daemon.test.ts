import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchText } from '../support/http.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { CFS, P99_LINT, promtoolCheck, sampleValue, scrape, select, writeConfig } from './fixture.ts';

describe('./cfs gateway start serves /metrics', () => {
  let gw: ProcessHandle;
  let opsUrl: string;
  let ports: Awaited<ReturnType<typeof writeConfig>>['ports'];
  let configFile: string;
  let stateDir: string;
  before(async () => {
    const dir = makeTempDir('metrics-daemon');
    stateDir = join(dir, 'state');
    const cfg = await writeConfig(dir, { probeInterval: '200ms', extra: 'limits: { max_connections: 64 }' });
    opsUrl = `http://127.0.0.1:${cfg.opsPort}`;
    ports = cfg.ports;
    configFile = cfg.file;
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', cfg.file], { name: 'gateway' });
    await gw.waitForLine(/gateway started/, 60_000);
  });
  after(() => gw.stop());

  test('1 every gauge the runbook names, with the configured limit and closed circuits', async () => {
    const { text, samples, contentType } = await scrape(opsUrl);
    equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
    // A p99 of no request is NaN, spelled as the exposition format spells it (prom-client: `Nan`).
    ok(!/ Nan$/m.test(text), text.match(/^.* Nan$/m)?.[0]);
    for (const p of ['nfs', 's3', 'smb']) {
      // Protocol servers' own health probes may be connected (their requests are not counted: test 3).
      const active = sampleValue(samples, 'gateway_active_connections', { protocol: p })!;
      ok(active >= 0 && active <= 64, `${p} active ${active}`);
      equal(sampleValue(samples, 'gateway_max_connections', { protocol: p }), 64);
      const p99 = sampleValue(samples, 'gateway_latency_p99_us', { protocol: p });
      if (select(samples, 'gateway_requests_total', { protocol: p }).length === 0) {
        ok(Number.isNaN(p99), `${p}: no request, no p99 (${p99})`);
        match(text, new RegExp(`^gateway_latency_p99_us\\{protocol="${p}"\\} NaN$`, 'm'));
      } else {
        ok(p99 !== undefined && p99 > 0 && p99 < 60e6, `${p} p99 ${p99}`);
      }
    }
    for (const b of ['metadata', 'transport']) {
      equal(sampleValue(samples, 'gateway_circuit_breaker_state', { backend: b }), 0);
      equal(sampleValue(samples, 'gateway_backend_errors_total', { backend: b }), 0);
    }
    // The room on each backend's file system, as df says it (here both under the state folder).
    const fs = statfsSync(stateDir, { bigint: true });
    for (const b of ['metadata', 'transport']) {
      equal(
        sampleValue(samples, 'gateway_backend_capacity_bytes', { backend: b, kind: 'total' }),
        Number(fs.blocks * fs.bsize),
      );
      const avail = sampleValue(samples, 'gateway_backend_capacity_bytes', {
        backend: b,
        kind: 'available',
      })!;
      // Other programs write to this disk meanwhile.
      ok(Math.abs(avail - Number(fs.bavail * fs.bsize)) < 256 * 1024 * 1024, `${b} available ${avail}`);
    }
    equal(sampleValue(samples, 'gateway_draining'), 0);
    // An idle daemon: S3 has no reason to give way to NFS and SMB (ops/loop-share.ts).
    equal(sampleValue(samples, 'gateway_s3_giving_way'), 0);
    equal(sampleValue(samples, 'gateway_s3_turns_waited_total'), 0);
    const rss = sampleValue(samples, 'gateway_process_process_resident_memory_bytes')!;
    ok(rss > 10e6, `rss ${rss}`);
  });

  test('2 promtool check metrics: only the runbook’s p99_us name', requireTools('promtool'), async () => {
    const r = await promtoolCheck((await scrape(opsUrl)).text);
    deepEqual(r.findings, [P99_LINT]);
  });

  test(
    '3 the servers’ own health probes are not traffic; a client’s calls are',
    requireTools('nfs-ls', 'smbclient'),
    async () => {
      // Every 200 ms the NFS check calls NULL on NFS and MOUNT and the SMB check negotiates: let
      // rounds of them pass, and see them succeed (a check is healthy only once its call was
      // answered; on a loaded machine a round may time out, so wait for a healthy one).
      const started = performance.now();
      let checks: { name: string; status: string }[] = [];
      for (;;) {
        checks = (JSON.parse((await fetchText(`${opsUrl}/health`)).body) as { checks: typeof checks }).checks;
        const healthy = ['nfs', 'smb'].every((n) => checks.find((c) => c.name === n)?.status === 'healthy');
        if (healthy && performance.now() - started >= 1200) break;
        ok(performance.now() - started < 30_000, `probes not healthy: ${JSON.stringify(checks)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const idle = (await scrape(opsUrl)).samples;
      for (const protocol of ['nfs', 's3', 'smb']) {
        deepEqual(
          select(idle, 'gateway_requests_total', { protocol }),
          [],
          `${protocol}: an idle gateway serves no request`,
        );
      }

      // A client's calls are counted, exactly: libnfs opens with a NULL call on each program.
      const ls = await runCommand('nfs-ls', [
        `nfs://127.0.0.1/export?nfsport=${ports.nfs}&mountport=${ports.mount}&version=3`,
      ]);
      equal(ls.code, 0, ls.stderr);
      const list = await runCommand('smbclient', ['-N', '-L', '//127.0.0.1', '-p', String(ports.smb)]);
      ok(list.code !== 0, 'anonymous listing is refused by default');
      const busy = (await scrape(opsUrl)).samples;
      equal(sampleValue(busy, 'gateway_requests_total', { protocol: 'nfs', op: 'NULL' }), 1);
      equal(sampleValue(busy, 'gateway_requests_total', { protocol: 'nfs', op: 'MOUNT_NULL' }), 1);
      equal(sampleValue(busy, 'gateway_requests_total', { protocol: 'nfs', op: 'MNT' }), 1);
      ok((sampleValue(busy, 'gateway_requests_total', { protocol: 'smb', op: 'NEGOTIATE' }) ?? 0) >= 1);
      ok((sampleValue(busy, 'gateway_requests_total', { protocol: 'smb', op: 'SESSION_SETUP' }) ?? 0) >= 1);
    },
  );

  test(
    '4 a successful SMB sign-in is no error (its first leg answers STATUS_MORE_PROCESSING_REQUIRED); a wrong password is',
    requireTools('smbclient'),
    async () => {
      const add = await runCommand(
        CFS,
        ['user', 'add', 'metrics-alice', '--password-stdin', '--config', configFile],
        { input: 'Alice-pass-123\n', timeoutMs: 60_000 },
      );
      equal(add.code, 0, add.output);
      const smb = (password: string) =>
        runCommand('smbclient', [
          `//127.0.0.1/export`,
          '-p',
          String(ports.smb),
          '-U',
          `metrics-alice%${password}`,
          '-m',
          'SMB3',
          '-c',
          'ls',
        ]);
      const before = (await scrape(opsUrl)).samples;
      const count = (samples: typeof before, name: string) =>
        sampleValue(samples, name, { protocol: 'smb', op: 'SESSION_SETUP' }) ?? 0;
      for (let i = 0; i < 3; i++) {
        const r = await smb('Alice-pass-123');
        equal(r.code, 0, r.output);
      }
      const signedIn = (await scrape(opsUrl)).samples;
      ok(
        count(signedIn, 'gateway_requests_total') - count(before, 'gateway_requests_total') >= 6,
        'two legs each',
      );
      equal(
        count(signedIn, 'gateway_errors_total'),
        count(before, 'gateway_errors_total'),
        'no error counted',
      );
      equal(
        select(signedIn, 'gateway_error_codes_total', { code: 'STATUS_MORE_PROCESSING_REQUIRED' }).length,
        0,
      );

      const wrong = await smb('not-her-password');
      ok(wrong.code !== 0, wrong.output);
      const refused = (await scrape(opsUrl)).samples;
      equal(count(refused, 'gateway_errors_total') - count(signedIn, 'gateway_errors_total'), 1);
      const logonFailures = (samples: typeof before) =>
        sampleValue(samples, 'gateway_error_codes_total', {
          protocol: 'smb',
          code: 'STATUS_LOGON_FAILURE',
        }) ?? 0;
      equal(logonFailures(refused) - logonFailures(signedIn), 1);
    },
  );
});
