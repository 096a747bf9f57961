import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One thing wrong with an S3 TLS pair, about the certificate file or the key file. */
export interface TlsFinding {
  file: 'cert' | 'key';
  severity: 'error' | 'warning';
  message: string;
}

export interface TlsCheckOptions {
  /** s3.domain: warn when the certificate does not name it. */
  domain?: string;
  now?: Date;
  /** Warn when the certificate expires within this many days. */
  expiryWarningDays?: number;
}

const DAY_MS = 86_400_000;

function readPem(path: string, what: string): { text?: string; problem?: string } {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `${what} file ${path} does not exist` };
    if (code === 'EACCES') return { problem: `${what} file ${path} is not readable (permission denied)` };
    if (code === 'EISDIR') return { problem: `${what} file ${path} is a directory` };
    return { problem: `${what} file ${path} cannot be read: ${(e as Error).message}` };
  }
}

function loadCertificate(path: string, findings: TlsFinding[]): X509Certificate | undefined {
  const { text, problem } = readPem(path, 'certificate');
  const fail = (message: string) => {
    findings.push({ file: 'cert', severity: 'error', message });
    return undefined;
  };
  if (text === undefined) return fail(problem ?? `cannot read ${path}`);
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
      return fail(`${path} holds a private key, not a certificate: are cert and key swapped?`);
    }
    return fail(`${path} is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)`);
  }
  try {
    return new X509Certificate(text);
  } catch (e) {
    return fail(`${path} is not a readable certificate: ${(e as Error).message}`);
  }
}

function loadKey(path: string, findings: TlsFinding[]): KeyObject | undefined {
  const { text, problem } = readPem(path, 'private key');
  const fail = (message: string) => {
    findings.push({ file: 'key', severity: 'error', message });
    return undefined;
  };
  if (text === undefined) return fail(problem ?? `cannot read ${path}`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    if (text.includes('-----BEGIN CERTIFICATE-----')) {
      return fail(`${path} holds a certificate, not a private key: are cert and key swapped?`);
    }
    return fail(`${path} is not a PEM private key (no -----BEGIN PRIVATE KEY----- line)`);
  }
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || text.includes('Proc-Type: 4,ENCRYPTED')) {
    return fail(
      `${path} is encrypted: the gateway needs an unencrypted key (openssl pkey -in KEY -out KEY.plain)`,
    );
  }
  try {
    return createPrivateKey(text);
  } catch (e) {
    return fail(`${path} is not a readable private key: ${(e as Error).message}`);
  }
}

function day(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * What would stop the S3 listener from serving HTTPS with this pair, each its own finding:
 * unreadable files, not PEM, outside its validity period, key not matching the certificate.
 */
export function checkTlsPair(certPath: string, keyPath: string, options: TlsCheckOptions = {}): TlsFinding[] {
  const findings: TlsFinding[] = [];
  const cert = loadCertificate(certPath, findings);
  const key = loadKey(keyPath, findings);
  const now = options.now ?? new Date();
  if (cert) {
    const notBefore = new Date(cert.validFrom);
    const notAfter = new Date(cert.validTo);
    if (now < notBefore) {
      findings.push({
        file: 'cert',
        severity: 'error',
        message: `certificate is not valid until ${day(notBefore)}`,
      });
    } else if (now > notAfter) {
      findings.push({ file: 'cert', severity: 'error', message: `certificate expired on ${day(notAfter)}` });
    } else {
      const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
      if (daysLeft < (options.expiryWarningDays ?? 30)) {
        const message = `certificate expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'} (${day(notAfter)})`;
        findings.push({ file: 'cert', severity: 'warning', message });
      }
    }
    if (options.domain !== undefined && cert.checkHost(options.domain) === undefined) {
      const message = `certificate does not name s3.domain '${options.domain}': clients will refuse it (subject ${cert.subject.replaceAll('\n', ', ')})`;
      findings.push({ file: 'cert', severity: 'warning', message });
    }
  }
  if (cert && key && !cert.checkPrivateKey(key)) {
    findings.push({
      file: 'key',
      severity: 'error',
      message: `private key ${keyPath} does not match certificate ${certPath}`,
    });
  }
  return findings;
}
