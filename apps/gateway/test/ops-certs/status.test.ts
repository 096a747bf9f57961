import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { humanCertStatus } from '../../src/cli/commands/cert.ts';
import { type CertificateStatus, certificateStatus } from '../../src/ops/certs/status.ts';
import { CFS, writeGatewayConfig } from '../ops-drain/fixture.ts';
import { runCommand, spawnProcess } from '../support/proc.ts';
import { requireTools } from '../support/tools.ts';
import { makeCertificateSet, serialOf } from './fixtures.ts';

const tools = requireTools('openssl');
const certs = tools.skip ? undefined : makeCertificateSet();

const messages = (s: CertificateStatus, severity: 'error' | 'warning') =>
  s.findings.filter((f) => f.severity === severity).map((f) => f.message);

describe('certificate status, read from the files', tools, () => {
  const c = certs!;
  const status = (cert: string, key: string, trustStore?: string) =>
    certificateStatus({ name: 's3.tls', cert, key }, trustStore ? { trustStore } : {});

  test('1 a good self-signed certificate with a SAN: ok, every field filled', async () => {
    const s = await status(c.good.cert, c.good.key);
    equal(s.verdict, 'ok', JSON.stringify(s.findings));
    equal(s.subject, 'CN=gateway.claudefs.local');
    deepEqual(s.subjectAltNames, ['DNS:gateway.claudefs.local', 'IP Address:127.0.0.1']);
    equal(s.issuer, 'CN=gateway.claudefs.local');
    equal(s.serial, serialOf(c.good.cert));
    equal(s.selfSigned, true);
    equal(s.chain.verdict, 'self-signed');
    equal(s.keyMatches, true);
    ok(s.daysLeft === 364 || s.daysLeft === 365, String(s.daysLeft));
    ok(s.notBefore && s.notAfter && s.notBefore < s.notAfter);
    deepEqual(s.findings, []);
  });

  test('2 an expired certificate: error, negative days left', async () => {
    const s = await status(c.expired.cert, c.expired.key);
    equal(s.verdict, 'error');
    deepEqual(messages(s, 'error'), ['certificate expired on 2020-01-02T00:00:00Z']);
    equal(s.notAfter, '2020-01-02T00:00:00.000Z');
    ok((s.daysLeft ?? 0) < -365);
    // Days are rounded down: -1 is less than a day after notAfter, -2 one whole day.
    match(humanCertStatus([{ ...s, daysLeft: -1 }]), /\(expired less than a day ago\)/);
    match(humanCertStatus([{ ...s, daysLeft: -2 }]), /\(expired 1 day ago\)/);
    match(humanCertStatus([s]), new RegExp(`\\(expired ${-(s.daysLeft ?? 0) - 1} days ago\\)`));
  });

  test('3 a key that belongs to another certificate: error, keyMatches false', async () => {
    const s = await status(c.good.cert, c.next.key);
    equal(s.verdict, 'error');
    equal(s.keyMatches, false);
    deepEqual(messages(s, 'error'), [`private key ${c.next.key} does not match certificate ${c.good.cert}`]);
  });

  test('4 a certificate expiring in 5 days: warning with the days left', async () => {
    const s = await status(c.expiring.cert, c.expiring.key);
    equal(s.verdict, 'warning');
    equal(s.daysLeft, 4);
    equal(messages(s, 'warning').length, 1);
    match(messages(s, 'warning')[0] ?? '', /^certificate expires in 4 days \(\d{4}-\d\d-\d\dT/);
  });

  test('5 a certificate with no subjectAltName (the runbook command): warning, clients ignore the CN', async () => {
    const s = await status(c.noSan.cert, c.noSan.key);
    equal(s.verdict, 'warning');
    deepEqual(s.subjectAltNames, []);
    deepEqual(messages(s, 'warning'), [
      'certificate has no subjectAltName: modern clients ignore the CN and will refuse it; reissue with -addext "subjectAltName=DNS:gateway.claudefs.local"',
    ]);
  });

  test('6 a certificate from a private CA: verified against a store holding the CA, not against the system one', async () => {
    const trusted = await status(c.private.cert, c.private.key, c.private.ca);
    equal(trusted.selfSigned, false);
    equal(trusted.chain.verdict, 'verified', trusted.chain.message);
    equal(trusted.issuer, 'CN=Test Root CA');
    equal(trusted.verdict, 'ok');

    const system = await status(c.private.cert, c.private.key);
    equal(system.chain.verdict, 'unverified');
    match(
      system.chain.message,
      /^not verified against \/etc\/ssl\/certs\/ca-certificates\.crt: unable to get local issuer certificate$/,
    );
    equal(system.verdict, 'warning');
    match(messages(system, 'warning')[0] ?? '', /certificate verify failed.*update-ca-certificates/);
  });

  test('7 files that cannot be read are findings, not exceptions', async () => {
    const missing = join(c.dir, 'missing.pem');
    const s = await status(missing, c.good.key);
    equal(s.verdict, 'error');
    equal(s.subject, null);
    equal(s.keyMatches, null);
    deepEqual(messages(s, 'error'), [`certificate file ${missing} does not exist`]);
  });
});

describe('./cfs cert status', tools, () => {
  const c = certs!;
  const configWith = async (prefix: string, cert: string, key: string) =>
    (await writeGatewayConfig(prefix, [], `, tls: { cert: ${cert}, key: ${key} }`)).file;

  test('1 a good certificate: exit 0, a readable block', async () => {
    const file = await configWith('cert-good', c.good.cert, c.good.key);
    const r = await runCommand(CFS, ['cert', 'status', '--config', file], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /^s3\.tls: OK$/m);
    match(r.stdout, /^ {2}subject {6}CN=gateway\.claudefs\.local$/m);
    match(r.stdout, /^ {2}SANs {9}DNS:gateway\.claudefs\.local, IP Address:127\.0\.0\.1$/m);
    match(r.stdout, /^ {2}key {10}.*good-key\.pem \(matches the certificate\)$/m);
    match(r.stdout, /^ {2}issuer {7}CN=gateway\.claudefs\.local \(self-signed\)$/m);
    match(r.stdout, /^ {2}valid {8}.* \(36[45] days left\)$/m);
  });

  test('2 an expired certificate still loads the configuration: exit 1, JSON names the expiry', async () => {
    const file = await configWith('cert-expired', c.expired.cert, c.expired.key);
    const r = await runCommand(CFS, ['cert', 'status', '--json', '--config', file], { timeoutMs: 60_000 });
    equal(r.code, 1, r.output);
    const { certificates } = JSON.parse(r.stdout) as { certificates: CertificateStatus[] };
    equal(certificates.length, 1);
    equal(certificates[0]?.name, 's3.tls');
    equal(certificates[0]?.certFile, c.expired.cert);
    equal(certificates[0]?.verdict, 'error');
    ok(certificates[0]?.findings.some((f) => f.message === 'certificate expired on 2020-01-02T00:00:00Z'));
  });

  test('3 a mismatched key: exit 1, DOES NOT MATCH', async () => {
    const file = await configWith('cert-mismatch', c.good.cert, c.next.key);
    const r = await runCommand(CFS, ['cert', 'status', '--config', file], { timeoutMs: 60_000 });
    equal(r.code, 1, r.output);
    match(r.stdout, /^s3\.tls: ERROR$/m);
    match(r.stdout, /DOES NOT MATCH the certificate/);
    match(r.stdout, /^ {2}ERROR {3}private key .* does not match certificate/m);
  });

  test('4 relative TLS paths resolve against the configuration file, even when the pair is bad', async () => {
    const cfg = await writeGatewayConfig('cert-relative', [], ', tls: { cert: cert.pem, key: key.pem }');
    writeFileSync(join(cfg.dir, 'cert.pem'), '');
    const r = await runCommand(CFS, ['cert', 'status', '--json', '--config', cfg.file], {
      timeoutMs: 60_000,
    });
    equal(r.code, 1, r.output);
    const { certificates } = JSON.parse(r.stdout) as { certificates: CertificateStatus[] };
    equal(certificates[0]?.certFile, join(cfg.dir, 'cert.pem'));
    equal(certificates[0]?.keyFile, join(cfg.dir, 'key.pem'));
  });

  test('5 no TLS configured: exit 0 and says so', async () => {
    const cfg = await writeGatewayConfig('cert-none');
    const r = await runCommand(CFS, ['cert', 'status', '--config', cfg.file], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    equal(r.stdout, 'no certificates configured (s3.tls is not set, or S3 is disabled)\n');
  });

  test('6 a gateway started with --tls-cert/--tls-key: status asks it, and shows the pair it serves', async () => {
    const cfg = await writeGatewayConfig('cert-flags');
    const gw = spawnProcess(
      CFS,
      ['gateway', 'start', 's3', '--config', cfg.file, '--tls-cert', c.good.cert, '--tls-key', c.good.key],
      { name: 'gateway' },
    );
    try {
      await gw.waitForLine(/gateway started/, 60_000);
      const r = await runCommand(CFS, ['cert', 'status', '--config', cfg.file], { timeoutMs: 60_000 });
      equal(r.code, 0, r.output);
      match(r.stdout, /^s3\.tls: OK$/m);
      match(r.stdout, new RegExp(`^ {2}served {7}serial ${serialOf(c.good.cert)}, loaded \\S+$`, 'm'));
    } finally {
      equal((await gw.stop(30_000)).code, 0, gw.output().slice(-2000));
    }
    // Stopped: the files the configuration names, which are none.
    const after = await runCommand(CFS, ['cert', 'status', '--config', cfg.file], { timeoutMs: 60_000 });
    equal(after.stdout, 'no certificates configured (s3.tls is not set, or S3 is disabled)\n');
  });
});
