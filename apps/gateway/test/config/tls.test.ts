import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { checkTlsPair } from '../../src/config/tls-check.ts';
import { makeCertificates } from './fixtures/certificates.ts';
import { printed, writeConfig } from './fixtures/config-file.ts';

const certs = makeCertificates();
const notPem = join(certs.dir, 'not-pem.txt');
writeFileSync(notPem, 'this is not a certificate\n');
const aDirectory = join(certs.dir, 'a-directory');
mkdirSync(aDirectory);
const missing = join(certs.dir, 'missing.pem');

function tlsConfig(cert: string, key: string, extra: string[] = []): string[] {
  return ['s3:', ...extra, '  tls:', `    cert: ${cert}`, `    key: ${key}`];
}

/** Each TLS mistake is its own problem, at the file it is about (line 3 cert, line 4 key). */
const rows: [row: number, what: string, cert: string, key: string, expected: string[]][] = [
  [1, 'the runbook self-signed pair is accepted', certs.good.cert, certs.good.key, []],
  [
    2,
    'a certificate file that does not exist',
    missing,
    certs.good.key,
    [`FILE:3:11 s3.tls.cert: certificate file ${missing} does not exist`],
  ],
  [
    3,
    'a key file that does not exist',
    certs.good.cert,
    missing,
    [`FILE:4:10 s3.tls.key: private key file ${missing} does not exist`],
  ],
  [
    4,
    'a directory where the certificate should be',
    aDirectory,
    certs.good.key,
    [`FILE:3:11 s3.tls.cert: certificate file ${aDirectory} is a directory`],
  ],
  [
    5,
    'a certificate file that is not PEM',
    notPem,
    certs.good.key,
    [`FILE:3:11 s3.tls.cert: ${notPem} is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)`],
  ],
  [
    6,
    'a key file that is not PEM',
    certs.good.cert,
    notPem,
    [`FILE:4:10 s3.tls.key: ${notPem} is not a PEM private key (no -----BEGIN PRIVATE KEY----- line)`],
  ],
  [
    7,
    'cert and key swapped',
    certs.good.key,
    certs.good.cert,
    [
      `FILE:3:11 s3.tls.cert: ${certs.good.key} holds a private key, not a certificate: are cert and key swapped?`,
      `FILE:4:10 s3.tls.key: ${certs.good.cert} holds a certificate, not a private key: are cert and key swapped?`,
    ],
  ],
  [
    8,
    'an expired certificate',
    certs.expired.cert,
    certs.expired.key,
    ['FILE:3:11 s3.tls.cert: certificate expired on 2020-01-02T00:00:00Z'],
  ],
  [
    9,
    'a certificate not valid yet',
    certs.future.cert,
    certs.future.key,
    ['FILE:3:11 s3.tls.cert: certificate is not valid until 2099-01-01T00:00:00Z'],
  ],
  [
    10,
    'a key from another pair',
    certs.good.cert,
    certs.other.key,
    [`FILE:4:10 s3.tls.key: private key ${certs.other.key} does not match certificate ${certs.good.cert}`],
  ],
  [
    11,
    'an expired certificate with a key from another pair: both are said',
    certs.expired.cert,
    certs.other.key,
    [
      'FILE:3:11 s3.tls.cert: certificate expired on 2020-01-02T00:00:00Z',
      `FILE:4:10 s3.tls.key: private key ${certs.other.key} does not match certificate ${certs.expired.cert}`,
    ],
  ],
  [
    12,
    'a key under a passphrase',
    certs.good.cert,
    certs.encryptedKey,
    [
      `FILE:4:10 s3.tls.key: ${certs.encryptedKey} is encrypted: the gateway needs an unencrypted key (openssl pkey -in KEY -out KEY.plain)`,
    ],
  ],
];

describe('S3 TLS files', () => {
  for (const [row, what, cert, key, expected] of rows) {
    test(`row ${row}: ${what}`, async () => {
      const file = writeConfig(tlsConfig(cert, key));
      const { config, problems } = await loadConfig(file);
      assert.deepEqual(printed(problems, file), expected);
      assert.equal(config === undefined, expected.length > 0);
    });
  }

  test('row 16: TLS files are not checked while S3 is disabled', async () => {
    const file = writeConfig(tlsConfig(missing, missing, ['  enabled: false']));
    const { config, problems } = await loadConfig(file);
    assert.deepEqual(problems, []);
    assert.ok(config);
  });

  test('row 16: relative TLS paths are relative to the config file and come back absolute', async () => {
    const file = writeConfig(['s3:', '  tls: { cert: tls/cert.pem, key: tls/key.pem }']);
    mkdirSync(join(dirname(file), 'tls'));
    copyFileSync(certs.good.cert, join(dirname(file), 'tls', 'cert.pem'));
    copyFileSync(certs.good.key, join(dirname(file), 'tls', 'key.pem'));
    const { config, problems } = await loadConfig(file);
    assert.deepEqual(problems, []);
    assert.deepEqual(config?.s3.tls, {
      cert: join(dirname(file), 'tls', 'cert.pem'),
      key: join(dirname(file), 'tls', 'key.pem'),
    });
  });

  test('row 16: a certificate that does not name s3.domain is a warning, not an error', async () => {
    const file = writeConfig(tlsConfig(certs.good.cert, certs.good.key, ['  domain: s3.example.com']));
    const { config, problems } = await loadConfig(file);
    assert.deepEqual(printed(problems, file), [
      "FILE:4:11 s3.tls.cert: warning: certificate does not name s3.domain 's3.example.com': clients will refuse it (subject CN=gateway.claudefs.local)",
    ]);
    assert.ok(config, 'warnings still yield a config');
  });

  test('row 16: a certificate close to expiry is a warning', () => {
    const soon = new Date(Date.now() + 360 * 86_400_000);
    const findings = checkTlsPair(certs.good.cert, certs.good.key, { now: soon });
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.severity, 'warning');
    assert.match(findings[0]?.message ?? '', /^certificate expires in [45] days/);
  });
});
