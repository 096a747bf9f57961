import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PemPair, selfSigned, signedBetween } from '../config/fixtures/certificates.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export type { PemPair } from '../config/fixtures/certificates.ts';

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed pair naming the gateway in a subjectAltName, as modern clients require. */
export function selfSignedWithSan(
  dir: string,
  name: string,
  days = 365,
  cn = 'gateway.claudefs.local',
): PemPair {
  const pair = { cert: join(dir, `${name}-cert.pem`), key: join(dir, `${name}-key.pem`) };
  openssl(
    [
      ...['req', '-x509', '-nodes', '-days', String(days), '-newkey', 'rsa:2048'],
      ...['-keyout', pair.key, '-out', pair.cert, '-subj', `/CN=${cn}`],
      ...['-addext', `subjectAltName=DNS:${cn},IP:127.0.0.1`],
    ],
    dir,
  );
  return pair;
}

/** A private CA and a leaf it signed (with SAN); `ca` is the CA's certificate, a trust store of one. */
export function caSigned(dir: string, name: string): PemPair & { ca: string } {
  const ca = selfSignedWithSan(dir, `${name}-ca`, 365, 'Test Root CA');
  const pair = { cert: join(dir, `${name}-cert.pem`), key: join(dir, `${name}-key.pem`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  openssl(
    [
      'req',
      '-new',
      '-nodes',
      '-newkey',
      'rsa:2048',
      '-keyout',
      pair.key,
      '-out',
      csr,
      '-subj',
      '/CN=gateway.claudefs.local',
    ],
    dir,
  );
  writeFileSync(ext, 'subjectAltName=DNS:gateway.claudefs.local\n');
  openssl(
    [
      ...['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial'],
      ...['-days', '90', '-out', pair.cert, '-extfile', ext],
    ],
    dir,
  );
  return { ...pair, ca: ca.cert };
}

export function serialOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).serialNumber;
}

/** Every pair the certificate tests need, made once per test file (RSA key generation is slow). */
export function makeCertificateSet() {
  const dir = makeTempDir('certs');
  return {
    dir,
    good: selfSignedWithSan(dir, 'good'),
    next: selfSignedWithSan(dir, 'next'),
    third: selfSignedWithSan(dir, 'third'),
    expiring: selfSignedWithSan(dir, 'expiring', 5),
    noSan: selfSigned(dir, 'nosan'),
    expired: signedBetween(dir, 'expired', '20200101000000Z', '20200102000000Z'),
    private: caSigned(dir, 'leaf'),
  };
}
