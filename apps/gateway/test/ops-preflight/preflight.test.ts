import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { preflightCommand } from '../../src/cli/commands/preflight.ts';
import { openControlPlane } from '../../src/control/index.ts';
import type { PreflightResult } from '../../src/ops/preflight/result.ts';
import { listeningSocketInodes, portOwners } from '../../src/ops/preflight/socket-owners.ts';
import { type StoreServer, startStoreServer } from '../data-s3/store-server.ts';
import { makeCertificateSet } from '../ops-certs/fixtures.ts';
import { CFS, type InProcessGateway, startInProcess, writeGatewayConfig } from '../ops-drain/fixture.ts';
import { freePorts } from '../support/ports.ts';
import { type PostgresServer, requirePostgres, startPostgres } from '../support/postgres.ts';
import { runCommand } from '../support/proc.ts';
import { requireTools } from '../support/tools.ts';

const lines = (stdout: string) => stdout.trimEnd().split('\n');

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

async function results(
  file: string,
  adminToken?: string,
): Promise<{ exitCode: number; results: PreflightResult[] }> {
  const out = await preflightCommand(file, { json: true, adminToken });
  return {
    exitCode: out.exitCode,
    results: (JSON.parse(out.stdout) as { results: PreflightResult[] }).results,
  };
}

const verdictOf = (rs: PreflightResult[], item: string) =>
  rs.filter((r) => r.item === item).map((r) => r.verdict);

describe('./cfs gateway preflight', () => {
  test('1 a fresh configuration: every item PASS, exit 0, nothing created', async () => {
    const cfg = await writeGatewayConfig('preflight-fresh');
    const r = await runCommand(CFS, ['gateway', 'preflight', '--config', cfg.file], {
      timeoutMs: 60_000,
      env: { CFS_ADMIN_TOKEN: '' },
    });
    equal(r.code, 0, r.output);
    const out = lines(r.stdout);
    deepEqual(
      out.map((l) => l.split(':')[0]),
      [
        'PASS configuration',
        'PASS port nfs.bind',
        'PASS port nfs.mount_bind',
        'PASS port s3.bind',
        'PASS port smb.bind',
        'PASS port health.bind',
        'PASS dns',
        'PASS state folder',
        'PASS metadata',
        'PASS transport',
        'PASS admin token',
        'PASS certificates',
        'preflight',
      ],
    );
    equal(out.at(-1), 'preflight: 12 passed, 0 warnings, 0 failed');
    match(r.stdout, new RegExp(`^PASS port nfs\\.bind: 127\\.0\\.0\\.1:${cfg.ports.nfs} is free$`, 'm'));
    deepEqual(readdirSync(cfg.dir), ['gateway.yaml'], 'preflight creates no state');
  });

  test('2 a port held by another process: FAIL naming the process, exit 1', async () => {
    const cfg = await writeGatewayConfig('preflight-busy');
    const holder = await listen(cfg.ports.nfs);
    try {
      const r = await runCommand(CFS, ['gateway', 'preflight', '--config', cfg.file], { timeoutMs: 60_000 });
      equal(r.code, 1, r.output);
      match(
        r.stdout,
        new RegExp(
          `^FAIL port nfs\\.bind: port ${cfg.ports.nfs} is in use by PID ${process.pid} \\(node\\), not by this gateway$`,
          'm',
        ),
      );
      match(r.stdout, /^PASS port s3\.bind:/m);
      match(lines(r.stdout).at(-1) ?? '', /, 1 failed$/);
    } finally {
      holder.close();
    }
  });

  test('3 a certificate with no subjectAltName: WARN, exit 0', requireTools('openssl'), async () => {
    const certs = makeCertificateSet();
    const cfg = await writeGatewayConfig(
      'preflight-nosan',
      [],
      `, tls: { cert: ${certs.noSan.cert}, key: ${certs.noSan.key} }`,
    );
    const r = await runCommand(CFS, ['gateway', 'preflight', '--config', cfg.file], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /^WARN s3\.tls: certificate has no subjectAltName: modern clients ignore the CN/m);
    match(lines(r.stdout).at(-1) ?? '', /, 1 warning, 0 failed$/);

    const expired = await writeGatewayConfig(
      'preflight-expired',
      [],
      `, tls: { cert: ${certs.expired.cert}, key: ${certs.expired.key} }`,
    );
    const e = await results(expired.file);
    equal(e.exitCode, 1);
    ok(
      e.results.some(
        (x) => x.verdict === 'FAIL' && x.item === 's3.tls' && /expired on 2020-01-02/.test(x.message),
      ),
    );
    equal(
      verdictOf(e.results, 'configuration')[0],
      'PASS',
      'a bad certificate is the certificate item, not the configuration',
    );

    const good = await writeGatewayConfig(
      'preflight-good-cert',
      [],
      `, tls: { cert: ${certs.good.cert}, key: ${certs.good.key} }`,
    );
    const g = await results(good.file);
    const line = g.results.find((x) => x.item === 's3.tls');
    equal(line?.verdict, 'PASS');
    match(line?.message ?? '', /^CN=gateway\.claudefs\.local, 36[45] days left, key matches, self-signed$/);
  });

  test(
    "3b a start line's protocols and flags: what that start serves is checked — its --bind port, its --tls-cert files",
    requireTools('openssl'),
    async () => {
      const certs = makeCertificateSet();
      const cfg = await writeGatewayConfig('preflight-start-line');
      const [busy = 0] = await freePorts(1);
      const holder = await listen(busy);
      try {
        const r = await runCommand(
          CFS,
          [
            'gateway',
            'preflight',
            's3',
            '--config',
            cfg.file,
            '--bind',
            `127.0.0.1:${busy}`,
            '--tls-cert',
            certs.expired.cert,
            '--tls-key',
            certs.expired.key,
          ],
          { timeoutMs: 60_000 },
        );
        equal(r.code, 1, r.output);
        match(r.stdout, /^PASS configuration/m);
        match(
          r.stdout,
          new RegExp(
            `^FAIL port s3\\.bind: port ${busy} is in use by PID ${process.pid} \\(node\\), not by this gateway$`,
            'm',
          ),
        );
        ok(!/port (nfs|smb)\./.test(r.stdout), `only the protocols the start names:\n${r.stdout}`);
        match(r.stdout, /^FAIL s3\.tls: .*expired on 2020-01-02/m);
      } finally {
        holder.close();
      }
      const good = await preflightCommand(cfg.file, {
        json: true,
        named: ['s3'],
        flags: { tlsCert: certs.good.cert, tlsKey: certs.good.key },
      });
      const tls = (JSON.parse(good.stdout) as { results: PreflightResult[] }).results.find(
        (x) => x.item === 's3.tls',
      );
      equal(tls?.verdict, 'PASS', good.stdout);
      // A flag the start would refuse is the configuration item, as the start says it.
      const refused = await preflightCommand(cfg.file, {
        named: ['nfs'],
        flags: { tlsCert: certs.good.cert },
      });
      equal(refused.exitCode, 1);
      match(refused.stdout, /^FAIL configuration: .*--tls-cert applies to s3, and it is not being started/m);
      const unknown = await preflightCommand(cfg.file, { named: ['ftp'] });
      match(unknown.stdout, /^FAIL configuration: .*unknown protocol ftp: choose from nfs, s3, smb/m);
    },
  );

  test('4 an unusable configuration is one FAIL item, exit 1', async () => {
    const cfg = await writeGatewayConfig('preflight-invalid', ['limits: { max_connections: 0 }']);
    const r = await runCommand(CFS, ['gateway', 'preflight', '--config', cfg.file], { timeoutMs: 60_000 });
    equal(r.code, 1);
    match(r.stdout, /^FAIL configuration: .*gateway\.yaml:7:\d+ limits\.max_connections: /m);
  });

  test('5 metadata that is not a database and a data folder that is a file: FAIL each', async () => {
    const cfg = await writeGatewayConfig('preflight-backends');
    mkdirSync(join(cfg.dir, 'state'));
    writeFileSync(
      join(cfg.dir, 'state', 'meta.db'),
      'not a database, just text that is long enough to be read',
    );
    writeFileSync(join(cfg.dir, 'state', 'data'), 'a file where the data folder should be');
    const r = await results(cfg.file);
    equal(r.exitCode, 1);
    const meta = r.results.find((x) => x.item === 'metadata');
    equal(meta?.verdict, 'FAIL');
    match(meta?.message ?? '', /file is not a database/);
    const data = r.results.find((x) => x.item === 'transport');
    equal(data?.verdict, 'FAIL');
    match(data?.message ?? '', /data is not a folder$/);
  });

  test('6 DNS: a configured name that does not resolve is a FAIL; localhost resolves', async () => {
    const bad = await writeGatewayConfig('preflight-dns', [], ', domain: s3.example.invalid');
    const r = await results(bad.file);
    const dns = r.results.filter((x) => x.item.startsWith('dns'));
    equal(dns[0]?.item, 'dns s3.domain');
    equal(dns[0]?.verdict, 'FAIL');
    match(dns[0]?.message ?? '', /^s3\.example\.invalid does not resolve/);

    const good = await writeGatewayConfig('preflight-dns-ok', [], ', domain: localhost');
    const g = await results(good.file);
    const first = g.results.find((x) => x.item === 'dns s3.domain');
    equal(first?.verdict, 'PASS');
    match(first?.message ?? '', /^localhost resolves to /);
  });
});

describe('./cfs gateway preflight next to a running gateway', () => {
  let h: InProcessGateway;
  let file: string;
  let token: string;
  before(async () => {
    const cfg = await writeGatewayConfig('preflight-running');
    file = cfg.file;
    h = await startInProcess(cfg.file);
    const control = await openControlPlane({ stateDir: h.config.stateDir });
    try {
      token = (await control.adminTokens.create('preflight-test', 'operator')).token;
    } finally {
      await control.close();
    }
  });
  after(() => h.stop());

  test('1 the health port held by this gateway (its PID file) is a PASS; backends read and written', async () => {
    const r = await results(file, '');
    equal(r.exitCode, 0, JSON.stringify(r.results));
    const health = r.results.find((x) => x.item === 'port health.bind');
    equal(health?.verdict, 'PASS');
    equal(
      health?.message,
      `127.0.0.1:${h.config.health.bind.port} is held by this gateway (PID ${process.pid})`,
    );
    equal(
      r.results.find((x) => x.item === 'state folder')?.message,
      `${h.config.stateDir} is writable, and held by the gateway running on it (PID ${process.pid}): another start on it is refused until that one stops`,
    );
    match(
      r.results.find((x) => x.item === 'metadata')?.message ?? '',
      /opened and read \(\d+ schema objects\)/,
    );
    match(
      r.results.find((x) => x.item === 'transport')?.message ?? '',
      /wrote, read back and deleted a probe file/,
    );
    deepEqual(
      readdirSync(h.config.transport.kind === 'file' ? h.config.transport.path : '').filter((f) =>
        f.startsWith('.cfs-preflight'),
      ),
      [],
    );
  });

  test('2 CFS_ADMIN_TOKEN: a valid token PASSes with its name and role, a wrong one FAILs', async () => {
    const good = await results(file, token);
    const line = good.results.find((x) => x.item === 'admin token');
    deepEqual(line, {
      verdict: 'PASS',
      item: 'admin token',
      message: 'CFS_ADMIN_TOKEN is valid: token preflight-test, role operator',
    });
    const bad = await results(file, 'cfs_not-a-token');
    equal(bad.exitCode, 1);
    deepEqual(
      bad.results.find((x) => x.item === 'admin token'),
      {
        verdict: 'FAIL',
        item: 'admin token',
        message: 'CFS_ADMIN_TOKEN is not a valid token (unknown, revoked or expired)',
      },
    );
  });

  test('3 the socket owner lookup finds this process behind its listening port', () => {
    const port = h.config.health.bind.port;
    ok(listeningSocketInodes(port).size > 0);
    const { listening, owners } = portOwners(port);
    equal(listening, true);
    deepEqual(
      owners.map((o) => o.pid),
      [process.pid],
    );
  });
});

/**
 * The scaled-out backends the runbook's Day-1 checklist names: PostgreSQL metadata and an
 * object store for data, each probed as the gateway would use it — real servers on loopback.
 */
describe('./cfs gateway preflight with PostgreSQL metadata and an object store', requirePostgres(), () => {
  let pg: PostgresServer;
  let store: StoreServer;
  before(async () => {
    pg = await startPostgres();
    store = await startStoreServer();
  });
  after(async () => {
    await store?.stop();
    await pg?.destroy();
  });

  const scaledOut = async (prefix: string, metadataUrl: string) => {
    const cfg = await writeGatewayConfig(prefix, [
      `metadata: { url: "${metadataUrl}" }`,
      store.transportYaml(`preflight-${prefix}`),
    ]);
    return results(cfg.file);
  };

  test('1 both answer: PASS metadata (server version, the schema not there yet) and PASS transport (a probe object)', async () => {
    const { exitCode, results: rs } = await scaledOut('pf-scaled', await pg.createDatabase());
    const of = (item: string) => rs.find((r) => r.item === item)!;
    equal(of('metadata').verdict, 'PASS', of('metadata').message);
    match(
      of('metadata').message,
      /PostgreSQL \d+\.\d+.* answered, schema claudefs not there yet: the first gateway creates it/,
    );
    equal(of('transport').verdict, 'PASS', of('transport').message);
    match(of('transport').message, /^s3:\/\/.*: wrote, read back and deleted a probe object$/);
    equal(exitCode, 0, JSON.stringify(rs));
  });

  test('2 a database that does not exist: FAIL metadata with PostgreSQL’s reason; an object store that does not answer: FAIL transport within its deadline', async () => {
    store.pause();
    try {
      const { exitCode, results: rs } = await scaledOut('pf-down', pg.url('no_such_database'));
      const of = (item: string) => rs.find((r) => r.item === item)!;
      equal(of('metadata').verdict, 'FAIL');
      match(of('metadata').message, /database "no_such_database" does not exist/);
      equal(of('transport').verdict, 'FAIL');
      equal(exitCode, 1);
    } finally {
      store.resume();
    }
  });
});
