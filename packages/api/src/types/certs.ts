/** One thing wrong with a TLS pair. Errors refuse it; warnings do not. */
export interface TlsFinding {
  file: 'cert' | 'key';
  severity: 'error' | 'warning';
  message: string;
}

export interface CertificateView {
  /** The configuration key: `s3.tls`. */
  name: string;
  certFile: string;
  keyFile: string;
  /** `CN=gateway.claudefs.local, O=…`; null when the certificate cannot be read. */
  subject: string | null;
  /** `DNS:gateway.claudefs.local`, `IP Address:10.0.0.5`, …: what clients match the host name against. */
  subjectAltNames: string[];
  issuer: string | null;
  serial: string | null;
  fingerprintSha256: string | null;
  notBefore: string | null;
  notAfter: string | null;
  /** Whole days until notAfter (negative once expired). */
  daysLeft: number | null;
  /** Null when either file cannot be read. */
  keyMatches: boolean | null;
  selfSigned: boolean | null;
  chain: { verdict: 'self-signed' | 'verified' | 'unverified' | 'unknown'; message: string };
  /** What would stop HTTPS (error) or make clients complain (warning). */
  findings: TlsFinding[];
  verdict: 'ok' | 'warning' | 'error';
  /** What the gateway serves from memory now; null when it does not serve this file. */
  served: { serial: string } | null;
}

export interface CertificatesReport {
  certificates: CertificateView[];
}

/** `certs.upload`: PEM text as an operator pastes it. */
export interface CertificateUpload {
  cert: string;
  key: string;
}

export interface CertificateUploadResult extends CertificatesReport {
  /** The new pair is what new TLS handshakes get. */
  reloaded: boolean;
  /** Accepted, but clients may complain (no SAN, expiring soon…). */
  warnings: TlsFinding[];
}
