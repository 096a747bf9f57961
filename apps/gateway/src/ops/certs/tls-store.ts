import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkTlsPair, type TlsFinding } from '../../config/tls-check.ts';
import type { ConfiguredCertificate } from './status.ts';

/** What a TLS listener serves: PEM bytes as `tls.createSecureContext` takes them. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

export interface LoadedTls extends TlsMaterial {
  certFile: string;
  keyFile: string;
  serial: string;
  notAfter: string;
  loadedAt: string;
}

export type TlsListener = (tls: TlsMaterial | undefined) => void;

export type LoadOutcome =
  | { ok: true; changed: boolean; loaded: LoadedTls | undefined; findings: TlsFinding[] }
  | { ok: false; findings: TlsFinding[] };

/**
 * The pair the gateway serves right now, kept in memory so a listener can build a new secure
 * context without touching the disk, and replaced only by a pair that passed the same checks
 * as `gateway start`. Loads are serialised: SIGHUP and the admin API cannot interleave.
 */
export class TlsStore {
  private loaded: LoadedTls | undefined;
  private readonly listeners = new Set<TlsListener>();
  private queue: Promise<unknown> = Promise.resolve();

  /** `onListenerError`: a listener that throws does not keep the others from hearing of the change. */
  constructor(private readonly onListenerError: (e: unknown) => void = () => {}) {}

  get current(): LoadedTls | undefined {
    return this.loaded;
  }

  onChange(listener: TlsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `work` after every earlier load/install has finished. */
  exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Reads `pair` (undefined: no TLS configured) and serves it if it is usable; else keeps the current one. */
  load(pair: ConfiguredCertificate | undefined): Promise<LoadOutcome> {
    return this.exclusive(() => this.loadNow(pair));
  }

  /** load() for callers already inside exclusive(). */
  loadNow(pair: ConfiguredCertificate | undefined): LoadOutcome {
    if (!pair) {
      const changed = this.loaded !== undefined;
      this.loaded = undefined;
      if (changed) this.notify();
      return { ok: true, changed, loaded: undefined, findings: [] };
    }
    const findings = checkTlsPair(pair.cert, pair.key, pair.domain ? { domain: pair.domain } : {});
    if (findings.some((f) => f.severity === 'error')) return { ok: false, findings };
    const cert = readFileSync(pair.cert);
    const key = readFileSync(pair.key);
    // The files were checked by path; these are the bytes served, checked again in case the
    // pair was being replaced between the two reads.
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      const message = `${pair.cert} and ${pair.key} changed while being read and no longer match; try again`;
      return { ok: false, findings: [{ file: 'key', severity: 'error', message }] };
    }
    const previous = this.loaded;
    const changed = !previous?.cert.equals(cert) || !previous.key.equals(key);
    if (changed) {
      this.loaded = {
        cert,
        key,
        certFile: pair.cert,
        keyFile: pair.key,
        serial: x509.serialNumber,
        notAfter: new Date(x509.validTo).toISOString(),
        loadedAt: new Date().toISOString(),
      };
      this.notify();
    }
    return { ok: true, changed, loaded: this.loaded, findings };
  }

  private notify(): void {
    const material = this.loaded ? { cert: this.loaded.cert, key: this.loaded.key } : undefined;
    for (const l of this.listeners) {
      try {
        l(material);
      } catch (e) {
        this.onListenerError(e);
      }
    }
  }
}
