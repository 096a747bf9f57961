import assert from 'node:assert/strict';
import { readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openControlPlane } from '../../src/control/index.ts';
import type { DiagnosticRun, SupportBundle } from '../../src/ops/diagnostics/api.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { fetchText } from '../support/http.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { CFS, roomAt, until, writeConfig } from './fixture.ts';

/**
 * `./cfs diagnose` as an operator runs it, against a gateway started as its own process with
 * `./cfs gateway start`: the CLI reaches it through the admin API on health.bind.
 */
describe('./cfs diagnose against a running gateway process', () => {
  let cfg: Awaited<ReturnType<typeof writeConfig>>;
  let gw: ProcessHandle;
  let viewerToken: string;
  const base = () => `http://127.0.0.1:${cfg.ports.health}`;
  const diagnose = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCommand(CFS, ['diagnose', ...args, '--config', cfg.file], { timeoutMs: 60_000, env });

  before(async () => {
    cfg = await writeConfig('cli');
    const state = join(cfg.dir, 'state');
    // The namespace and the control plane as they were before this start: a 0600 file of uid
    // 1000, and a quota it is over.
    const ns = await openNamespace({
      metadataUrl: `sqlite://${state}/meta.db`,
      transportUrl: `file://${state}/data`,
    });
    const exp = await ns.ensureDirectory('/export', 0o1777);
    const a = await ns.mkdir(ROOT, exp.ino, 'a', 0o755);
    const f = await ns.create(ROOT, a.ino, 'f', 0o600);
    await ns.write(ROOT, f.ino, 0n, Buffer.alloc(2000, 7));
    await ns.setattr(ROOT, f.ino, { uid: 1000, gid: 1000 });
    await ns.close();
    const cp = await openControlPlane({ stateDir: state });
    await cp.quotas.set({
      kind: 'uid',
      subjectId: 1000,
      softBytes: 1000n,
      softUnit: 'KB',
      hardBytes: 1_000_000n,
      hardUnit: 'MB',
    });
    viewerToken = (await cp.adminTokens.create('dash', 'viewer')).token;
    await cp.close();
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', cfg.file], {
      name: 'gateway',
      env: { CFS_ADMIN_PASSWORD: 'diag-Admin-pw-12' },
    });
    await gw.waitForLine(/gateway started/, 60_000);
  });
  after(() => gw.stop());

  test('1 access: the uid-mismatch denial, the rule, and the stand-in for ls -la (exit 1)', async () => {
    const r = await diagnose(['access', '--path', '/export/a/f', '--uid', '1001', '--gid', '1001']);
    assert.equal(r.code, 1, r.output);
    assert.match(
      r.stdout,
      /read denied on \/export\/a\/f: other bits --- on \/export\/a\/f: uid 1001 is not the owner \(1000\) and not in group 1000/,
    );
    assert.match(r.stdout, /-rw------- +1000 +1000 \/export\/a\/f +needs rw: DENIED \(other ---\)/);
    assert.match(r.stdout, /\$ \.\/cfs ls -la \/export\/a\/f/);
    assert.match(r.stdout, /^conclusion: FAIL — uid 1001 gid 1001 cannot read \/export\/a\/f/m);
  });

  test('2 quota with --bundle: in grace, the WARN line seen, and a support bundle on disk (exit 0)', async () => {
    const bundleFile = join(cfg.dir, 'bundle.json');
    // The enforcer finds the subject over soft at start and writes the runbook's line.
    const r = await diagnose(['quota', '--uid', '1000', '--bundle', bundleFile], {
      CFS_ADMIN_TOKEN: viewerToken,
    });
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /uid=1000: usage=2KB soft=1KB hard=1MB → in grace/);
    assert.match(r.stdout, /logged: WARN: Soft quota exceeded for uid=1000 \(usage=2KB\/1KB\)/);
    assert.match(
      r.stdout,
      /\[admin\] Edit the quota of uid=1000: \.\/cfs quota set-user --uid 1000 --soft 2KB --hard 2MB/,
    );
    assert.match(r.stderr, /support bundle written to .*bundle\.json/);
    assert.equal(statSync(bundleFile).mode & 0o777, 0o600);
    const b = JSON.parse(readFileSync(bundleFile, 'utf8')) as SupportBundle;
    assert.equal(b.format, 'claudefs-support-bundle/1');
    assert.deepEqual(
      b.runs.map((x) => [x.tree, x.ranBy, x.conclusion.verdict]),
      [['quota', 'token:dash', 'warn']],
    );
    assert.ok(b.logs.some((l) => l.msg === 'WARN: Soft quota exceeded for uid=1000 (usage=2KB/1KB)'));
    assert.ok(
      b.logs.some((l) => /gateway started|listening on/.test(l.msg)),
      'the ring holds the log from start',
    );
    assert.equal(b.health.overall, 'healthy');
    assert.doesNotMatch(JSON.stringify(b), new RegExp(viewerToken));
  });

  test('3 backend, data folder gone: --json transcript (exit 1); a viewer token may not reset the circuit', async () => {
    const data = join(cfg.dir, 'state', 'data');
    renameSync(data, `${data}.away`);
    try {
      // The check fails at the first failed probe; the circuit opens only after several.
      await until('the transport check to fail and its circuit to open', async () => {
        const h = await fetchText(`${base()}/health`);
        const m = await fetchText(`${base()}/metrics`);
        return (
          /"name":"transport","status":"unhealthy"/.test(h.body) &&
          /^gateway_circuit_breaker_state\{backend="transport"\} [12]$/m.test(m.body)
        );
      });
      const r = await diagnose(['backend', '--json']);
      assert.equal(r.code, 1, r.output);
      const run = JSON.parse(r.stdout) as DiagnosticRun;
      assert.deepEqual(
        run.steps.map((s) => [s.id, s.outcome]),
        [
          ['circuits', 'open'],
          ['probes', 'failing'],
          ['backend-status', 'down'],
          ['space', roomAt(cfg.dir) === 'room' ? 'no figures' : 'low'],
          ['auto-close', 'stays open'],
        ],
      );
      assert.match(run.ranBy ?? '', /^cli:/, './cfs diagnose runs as its user');
      const denied = await fetchText(`${base()}/admin/diagnostics/remediate/circuit.reset`, {
        method: 'POST',
        headers: { authorization: `Bearer ${viewerToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ backend: 'transport' }),
      });
      assert.equal(denied.status, 403, denied.body);
    } finally {
      renameSync(`${data}.away`, data);
    }
    const reset = await fetchText(`${base()}/admin/diagnostics/remediate/circuit.reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ backend: 'transport' }),
    });
    assert.equal(reset.status, 200, reset.body);
    const ok = await diagnose(['backend']);
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.stdout, /^conclusion: PASS — the metadata and transport backends answer/m);
  });

  test('4 a request the tree cannot use exits 2; --list needs no gateway', async () => {
    const r = await diagnose(['access', '--uid', '1']);
    assert.equal(r.code, 2, r.output);
    assert.match(r.stderr, /needs the path the client cannot use/);
    const list = await runCommand(CFS, ['diagnose', '--list'], { timeoutMs: 60_000 });
    assert.equal(list.code, 0);
    assert.deepEqual(
      list.stdout
        .split('\n')
        .filter((l) => /^\S/.test(l))
        .map((l) => l.split(/\s+/)[0]),
      [
        'latency',
        'connection',
        'quota',
        'access',
        'smb-access',
        'unresponsive',
        'backend',
        'inconsistency',
        'preflight',
      ],
    );
    // --json: the same trees, with what each needs.
    const json = await runCommand(CFS, ['diagnose', '--list', '--json'], { timeoutMs: 60_000 });
    assert.equal(json.code, 0, json.output);
    const trees = JSON.parse(json.stdout) as Array<{
      id: string;
      inputs: Array<{ name: string; required: boolean }>;
    }>;
    assert.equal(trees.length, 9);
    assert.deepEqual(
      trees
        .find((t) => t.id === 'quota')
        ?.inputs.map((i) => i.name)
        .sort(),
      ['gid', 'uid'],
    );
  });

  test('5 unresponsive with the gateway gone: checked from this host, the runbook’s next steps (exit 1)', async () => {
    await gw.stop();
    const r = await diagnose(['unresponsive']);
    assert.equal(r.code, 1, r.output);
    assert.match(
      r.stdout,
      /names no running gateway \(no file, a process gone, or another program\): the gateway is not running/,
    );
    assert.match(r.stdout, /\$ ps aux \| grep claudefs-gateway +# runbook/);
    assert.match(r.stdout, /^conclusion: FAIL — the gateway is not running$/m);
  });
});
