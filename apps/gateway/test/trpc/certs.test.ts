import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CertificatesReport, CertificateUploadResult } from '@claudefs/api';
import { currentTls } from '../../src/ops/certs/feature.ts';
import { makeCertificateSet, serialOf } from '../ops-certs/fixtures.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { signIn, startTrpcGateway, type TrpcGateway, trpc } from './fixture.ts';

const tools = requireTools('openssl');
const certs = tools.skip ? undefined : makeCertificateSet();

describe('certificates through the console API', tools, () => {
  const c = certs!;
  const tlsDir = makeTempDir('trpc-tls');
  const live = { cert: join(tlsDir, 'cert.pem'), key: join(tlsDir, 'key.pem') };
  const pem = (pair: { cert: string; key: string }) => ({
    cert: readFileSync(pair.cert, 'utf8'),
    key: readFileSync(pair.key, 'utf8'),
  });
  let g: TrpcGateway;
  let admin: string;
  let operator: string;

  before(async () => {
    copyFileSync(c.good.cert, live.cert);
    copyFileSync(c.good.key, live.key);
    g = await startTrpcGateway({ s3Tls: live });
    await g.gw.control.users.add({ name: 'ada', role: 'admin', password: 'ada-Admin-pw-9' });
    await g.gw.control.users.add({ name: 'olivia', role: 'operator', password: 'olivia-Operator-pw-7' });
    admin = await signIn(g.base, 'ada', 'ada-Admin-pw-9');
    operator = await signIn(g.base, 'olivia', 'olivia-Operator-pw-7');
  });
  after(() => g.stop());

  test('1 status shows the configured pair and the one served', async () => {
    const r = await trpc<CertificatesReport>(g.base, 'query', 'certs.status', undefined, {
      cookie: operator,
    });
    assert.equal(r.status, 200, r.error?.message);
    const [s] = r.data.certificates;
    assert.equal(s?.name, 's3.tls');
    assert.equal(s?.serial, serialOf(c.good.cert));
    assert.equal(s?.served?.serial, serialOf(c.good.cert));
  });

  test('2 an operator cannot upload (FORBIDDEN)', async () => {
    const r = await trpc(g.base, 'mutation', 'certs.upload', pem(c.next), { cookie: operator });
    assert.equal(r.status, 403);
    assert.equal(currentTls(g.gw)?.cert.equals(readFileSync(c.good.cert)), true);
  });

  test('3 a key from another pair is refused: BAD_REQUEST, nothing written, the old pair still served', async () => {
    const files = readdirSync(tlsDir).sort();
    const r = await trpc(
      g.base,
      'mutation',
      'certs.upload',
      { cert: pem(c.next).cert, key: pem(c.good).key },
      { cookie: admin },
    );
    assert.equal(r.status, 400);
    assert.match(r.error?.message ?? '', /does not match/);
    assert.deepEqual(readdirSync(tlsDir).sort(), files);
    assert.equal(serialOf(live.cert), serialOf(c.good.cert));
    assert.equal(currentTls(g.gw)?.cert.equals(readFileSync(c.good.cert)), true);
  });

  test('4 a good pair is validated, written and hot-reloaded; the audit entry holds no key', async () => {
    const r = await trpc<CertificateUploadResult>(g.base, 'mutation', 'certs.upload', pem(c.next), {
      cookie: admin,
    });
    assert.equal(r.status, 200, r.error?.message);
    assert.equal(r.data.reloaded, true);
    assert.equal(r.data.certificates[0]?.served?.serial, serialOf(c.next.cert));
    assert.equal(serialOf(live.cert), serialOf(c.next.cert));
    assert.equal(currentTls(g.gw)?.key.toString(), readFileSync(c.next.key, 'utf8'));
    const [entry] = await g.gw.control.audit.list({ action: 'certs.replace', outcome: 'ok' });
    assert.equal(entry?.actor, 'console:ada');
    assert.doesNotMatch(JSON.stringify(entry), /PRIVATE KEY/);
    assert.doesNotMatch(g.logText(), /PRIVATE KEY/);
  });
});
