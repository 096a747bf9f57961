import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CertificateView } from '@claudefs/api';
import { checkTlsPair } from '../../config/tls-check.ts';
import type { GatewayConfig } from '../../config/types.ts';
import { SYSTEM_TRUST_STORE, verifyChain } from './chain.ts';

/** A certificate/key pair the configuration names, with the host name clients will ask for. */
export interface ConfiguredCertificate {
  /** The configuration key: `s3.tls`. */
  name: string;
  cert: string;
  key: string;
  domain?: string;
}

/** Every pair the gateway would serve. Today only S3 speaks TLS. */
export function configuredCertificates(config: GatewayConfig): ConfiguredCertificate[] {
  const { s3 } = config;
  if (!s3.enabled || !s3.tls) return [];
  return [
    { name: 's3.tls', cert: s3.tls.cert, key: s3.tls.key, ...(s3.domain ? { domain: s3.domain } : {}) },
  ];
}

/** What the console and `./cfs cert status` show of a pair: the API's view, less what is served. */
export type CertificateStatus = Omit<CertificateView, 'served'>;

export interface StatusOptions {
  now?: Date;
  /** Default /etc/ssl/certs/ca-certificates.crt. */
  trustStore?: string;
  expiryWarningDays?: number;
}

const DAY_MS = 86_400_000;

function readCertificate(path: string): X509Certificate | undefined {
  try {
    return new X509Certificate(readFileSync(path));
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate | undefined, keyPath: string): boolean | null {
  if (!cert) return null;
  try {
    return cert.checkPrivateKey(createPrivateKey(readFileSync(keyPath)));
  } catch {
    return null;
  }
}

function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** The first certificate's common name, for advice: `gateway.claudefs.local`. */
function commonName(cert: X509Certificate): string | undefined {
  return /^CN=(.*)$/m.exec(cert.subject)?.[1];
}

/**
 * Everything an operator asks of a configured pair, read from the files as they are now:
 * what the certificate says, whether the key matches, whether clients will trust it, and
 * what is wrong with it. Problems reading the files are findings, never exceptions.
 */
export async function certificateStatus(
  c: ConfiguredCertificate,
  opts: StatusOptions = {},
): Promise<CertificateStatus> {
  const now = opts.now ?? new Date();
  const findings = checkTlsPair(c.cert, c.key, {
    now,
    ...(c.domain ? { domain: c.domain } : {}),
    ...(opts.expiryWarningDays === undefined ? {} : { expiryWarningDays: opts.expiryWarningDays }),
  });
  const cert = readCertificate(c.cert);
  const base = { name: c.name, certFile: c.cert, keyFile: c.key, keyMatches: keyMatches(cert, c.key) };
  if (!cert) {
    return {
      ...base,
      subject: null,
      subjectAltNames: [],
      issuer: null,
      serial: null,
      fingerprintSha256: null,
      notBefore: null,
      notAfter: null,
      daysLeft: null,
      selfSigned: null,
      chain: { verdict: 'unknown', message: 'the certificate cannot be read' },
      findings,
      verdict: 'error',
    };
  }
  const sans = cert.subjectAltName?.split(', ').filter(Boolean) ?? [];
  if (sans.length === 0) {
    const cn = commonName(cert) ?? 'gateway.example.com';
    findings.push({
      file: 'cert',
      severity: 'warning',
      message: `certificate has no subjectAltName: modern clients ignore the CN and will refuse it; reissue with -addext "subjectAltName=DNS:${cn}"`,
    });
  }
  const selfSigned = cert.checkIssued(cert) && cert.verify(cert.publicKey);
  let chain: CertificateStatus['chain'];
  if (selfSigned) {
    chain = {
      verdict: 'self-signed',
      message: 'self-signed: clients trust it only when given this file (aws --ca-bundle, curl --cacert)',
    };
  } else {
    chain = await verifyChain(c.cert, opts.trustStore ?? SYSTEM_TRUST_STORE);
    if (chain.verdict === 'unverified') {
      findings.push({
        file: 'cert',
        severity: 'warning',
        message: `chain ${chain.message}: clients will say "certificate verify failed" unless its CA is in their trust store (update-ca-certificates)`,
      });
    }
  }
  const notAfter = new Date(cert.validTo);
  const verdict = findings.some((f) => f.severity === 'error')
    ? 'error'
    : findings.length > 0
      ? 'warning'
      : 'ok';
  return {
    ...base,
    subject: oneLine(cert.subject),
    subjectAltNames: sans,
    issuer: oneLine(cert.issuer),
    serial: cert.serialNumber,
    fingerprintSha256: cert.fingerprint256,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    selfSigned,
    chain,
    findings,
    verdict,
  };
}

/** Status of every configured pair. */
export function certificatesStatus(
  config: GatewayConfig,
  opts: StatusOptions = {},
): Promise<CertificateStatus[]> {
  return Promise.all(configuredCertificates(config).map((c) => certificateStatus(c, opts)));
}
