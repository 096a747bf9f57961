import { execFile } from 'node:child_process';

/** Debian's (and most distributions') bundle of the roots the host trusts. */
export const SYSTEM_TRUST_STORE = '/etc/ssl/certs/ca-certificates.crt';

export interface ChainResult {
  verdict: 'verified' | 'unverified' | 'unknown';
  message: string;
}

/**
 * Verifies the certificate file's chain the way clients will: `openssl verify` against the
 * host's trust store, with the file's own further certificates as intermediates and the
 * TLS-server purpose. OpenSSL rather than a hand-walked chain because it is what curl, the aws
 * CLI and s3cmd run, so its verdict and its words ("unable to get local issuer certificate")
 * are the ones operators will meet; it also checks constraints, key usage and the
 * intermediates' own validity, which a hand-walk would approximate.
 */
export function verifyChain(certFile: string, trustStore = SYSTEM_TRUST_STORE): Promise<ChainResult> {
  const args = ['verify', '-CAfile', trustStore, '-purpose', 'sslserver', '-untrusted', certFile, certFile];
  return new Promise((resolve) => {
    execFile('openssl', args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ verdict: 'verified', message: `chain verified against ${trustStore}` });
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve({ verdict: 'unknown', message: 'openssl is not installed: the chain was not verified' });
        return;
      }
      const output = `${stdout}\n${stderr}`;
      const reason = /error \d+ at \d+ depth lookup: (.+)/.exec(output)?.[1]?.trim();
      const fallback = output.trim().split('\n').filter(Boolean).at(-1) ?? error.message;
      resolve({
        verdict: 'unverified',
        message: `not verified against ${trustStore}: ${reason ?? fallback}`,
      });
    });
  });
}
