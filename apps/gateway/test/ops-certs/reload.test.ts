import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CertificatesReport } from '../../src/ops/certs/feature.ts';
import { currentTls, onTlsChange } from '../../src/ops/certs/feature.ts';
import type { TlsMaterial } from '../../src/ops/certs/tls-store.ts';
import { call, type InProcessGateway, startInProcess, writeGatewayConfig } from '../ops-drain/fixture.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { makeCertificateSet, serialOf } from './fixtures.ts';

const tools = requireTools('openssl');
const certs = tools.skip ? undefined : makeCertificateSet();

describe('hot reload of the S3 certificate', tools, () => {
  const c = certs!;
  const tlsDir = makeTempDir('tls-live');
  const live = { cert: join(tlsDir, 'cert.pem'), key: join(tlsDir, 'key.pem') };
  const pem = (pair: { cert: string; key: string }) => ({
    cert: readFileSync(pair.cert, 'utf8'),
    key: readFileSync(pair.key, 'utf8'),
  });
  let h: InProcessGateway;
  const heard: Array<TlsMaterial | undefined> = [];

  before(async () => {
    copyFileSync(c.good.cert, live.cert);
    copyFileSync(c.good.key, live.key);
    const cfg = await writeGatewayConfig(
      'certs-reload',
      [],
      `, tls: { cert: ${live.cert}, key: ${live.key} }`,
    );
    h = await startInProcess(cfg.file);
    onTlsChange(h.gw, (tls) => heard.push(tls));
  });
  after(() => h.stop());

  const report = async () =>
    (await call<CertificatesReport>(h.base, 'GET', '/admin/certs')).body.certificates[0];

  test('1 at start the configured pair is served from memory, and GET /admin/certs shows it', async () => {
    deepEqual(currentTls(h.gw), { cert: readFileSync(c.good.cert), key: readFileSync(c.good.key) });
    const s = await report();
    equal(s?.name, 's3.tls');
    equal(s?.serial, serialOf(c.good.cert));
    equal(s?.served?.serial, serialOf(c.good.cert));
    equal(s?.verdict, 'ok');
  });

  const refusedRows: [number, string, () => { cert: string; key: string }, RegExp][] = [
    [
      2,
      'a key from another pair',
      () => ({ cert: pem(c.next).cert, key: pem(c.good).key }),
      /the uploaded key does not match the uploaded certificate/,
    ],
    [3, 'an expired pair', () => pem(c.expired), /certificate expired on 2020-01-02T00:00:00Z/],
    [
      4,
      'text that is not PEM',
      () => ({ cert: 'hello', key: pem(c.next).key }),
      /the uploaded certificate is not a PEM certificate/,
    ],
  ];
  for (const [row, what, body, reason] of refusedRows) {
    test(`${row} POST /admin/certs with ${what}: 400, nothing written, still serving the old pair`, async () => {
      const before = {
        cert: readFileSync(live.cert),
        key: readFileSync(live.key),
        files: readdirSync(tlsDir).sort(),
      };
      const r = await call<{ error: string; findings: Array<{ message: string }> }>(
        h.base,
        'POST',
        '/admin/certs',
        body(),
      );
      equal(r.status, 400);
      equal(r.body.error, 'certificate refused; nothing was written');
      ok(
        r.body.findings.some((f) => reason.test(f.message)),
        JSON.stringify(r.body.findings),
      );
      ok(readFileSync(live.cert).equals(before.cert));
      ok(readFileSync(live.key).equals(before.key));
      deepEqual(readdirSync(tlsDir).sort(), before.files, 'no temporary file is left behind');
      equal((await report())?.served?.serial, serialOf(c.good.cert));
      deepEqual(heard, []);
    });
  }

  test('5 POST /admin/certs with a body that is not {cert, key}: 400', async () => {
    const r = await call<{ error: string }>(h.base, 'POST', '/admin/certs', { cert: pem(c.next).cert });
    equal(r.status, 400);
    equal(r.body.error, '"key" must be the private key as PEM text');
  });

  test('6 POST /admin/certs with a good pair: written in place, served at once, listeners told; the pair it replaced kept as .previous', async () => {
    const keyMode = statSync(live.key).mode & 0o777;
    const replaced = { cert: readFileSync(live.cert), key: readFileSync(live.key) };
    const r = await call<CertificatesReport & { reloaded: boolean }>(
      h.base,
      'POST',
      '/admin/certs',
      pem(c.next),
    );
    equal(r.status, 200, JSON.stringify(r.body));
    equal(r.body.reloaded, true);
    equal(readFileSync(live.cert, 'utf8'), pem(c.next).cert);
    equal(readFileSync(live.key, 'utf8'), pem(c.next).key);
    equal(statSync(live.key).mode & 0o777, keyMode, 'the key keeps its file mode');
    ok(readFileSync(`${live.cert}.previous`).equals(replaced.cert), 'the old certificate kept');
    ok(readFileSync(`${live.key}.previous`).equals(replaced.key), 'the old key kept');
    equal(statSync(`${live.key}.previous`).mode & 0o777, keyMode, 'readable as the key was');
    const s = await report();
    equal(s?.serial, serialOf(c.next.cert));
    equal(s?.served?.serial, serialOf(c.next.cert));
    equal(heard.length, 1);
    ok(heard[0]?.cert.equals(readFileSync(c.next.cert)));
    ok(currentTls(h.gw)?.key.equals(readFileSync(c.next.key)));
  });

  test('7 a pair replaced on disk is picked up by POST /admin/certs/reload', async () => {
    copyFileSync(c.third.key, live.key);
    copyFileSync(c.third.cert, live.cert);
    const r = await call<CertificatesReport & { reloaded: boolean }>(h.base, 'POST', '/admin/certs/reload');
    equal(r.status, 200);
    equal(r.body.reloaded, true);
    equal(r.body.certificates[0]?.served?.serial, serialOf(c.third.cert));
    equal(heard.length, 2);
    const again = await call<{ reloaded: boolean }>(h.base, 'POST', '/admin/certs/reload');
    equal(again.body.reloaded, false, 'the same bytes are not a change');
    equal(heard.length, 2);
  });

  test('8 a broken pair on disk: reload refused with 400, the previous pair keeps being served', async () => {
    copyFileSync(c.good.key, live.key);
    const r = await call<{ error: string; findings: Array<{ message: string }> }>(
      h.base,
      'POST',
      '/admin/certs/reload',
    );
    equal(r.status, 400);
    match(r.body.error, /still serving the previous pair/);
    ok(currentTls(h.gw)?.cert.equals(readFileSync(c.third.cert)));
    equal((await report())?.served?.serial, serialOf(c.third.cert));
    copyFileSync(c.third.key, live.key);
  });

  test('9 SIGHUP (Gateway.reload) picks up a new pair as well', async () => {
    copyFileSync(c.good.key, live.key);
    copyFileSync(c.good.cert, live.cert);
    await h.gw.reload(h.gw.config);
    ok(currentTls(h.gw)?.cert.equals(readFileSync(c.good.cert)));
    equal(heard.length, 3);
  });

  test('10 roles: a viewer reads the status, only an admin uploads or reloads', async () => {
    h.role = 'viewer';
    equal((await call(h.base, 'GET', '/admin/certs')).status, 200);
    h.role = 'operator';
    equal((await call(h.base, 'POST', '/admin/certs', pem(c.next))).status, 403);
    equal((await call(h.base, 'POST', '/admin/certs/reload')).status, 403);
    h.role = 'admin';
    ok(h.audits.some((a) => a.action === 'certs.replace' && a.outcome === 'ok'));
    ok(h.audits.some((a) => a.action === 'certs.replace' && a.outcome === 'error'));
  });
});

describe('certificates on a gateway without TLS', () => {
  test('1 currentTls is undefined and an upload is refused with 409', async () => {
    const h = await startInProcess((await writeGatewayConfig('certs-none')).file);
    try {
      equal(currentTls(h.gw), undefined);
      deepEqual((await call<CertificatesReport>(h.base, 'GET', '/admin/certs')).body, { certificates: [] });
      const r = await call<{ error: string }>(h.base, 'POST', '/admin/certs', { cert: 'x', key: 'y' });
      equal(r.status, 409);
      match(r.body.error, /s3\.tls is not configured/);
    } finally {
      await h.stop();
    }
  });
});
