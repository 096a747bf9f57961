import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import type { Logger } from '../../daemon/logger.ts';
import { TLS_TARGET } from '../admin/routes.ts';
import { installPair, parseUpload } from './install.ts';
import { type CertificateStatus, certificatesStatus, configuredCertificates } from './status.ts';
import {
  type LoadedTls,
  type LoadOutcome,
  type TlsListener,
  type TlsMaterial,
  TlsStore,
} from './tls-store.ts';

const stores = new WeakMap<Gateway, TlsStore>();

function storeOf(gw: Gateway): TlsStore {
  let store = stores.get(gw);
  if (!store) {
    store = new TlsStore((e) =>
      gw.log.error({ err: e }, 'a TLS listener failed to take the new certificate'),
    );
    stores.set(gw, store);
  }
  return store;
}

/** The certificate and key the S3 listener serves now; undefined when S3 runs plain HTTP. */
export function currentTls(gw: Gateway): TlsMaterial | undefined {
  const loaded = stores.get(gw)?.current;
  return loaded ? { cert: loaded.cert, key: loaded.key } : undefined;
}

/**
 * Called with the new pair after each hot reload (SIGHUP, `POST /admin/certs[/reload]`), so a
 * listener can `server.setSecureContext(...)`: new handshakes get the new certificate,
 * connections already open keep theirs. Returns the function that unsubscribes.
 */
export function onTlsChange(gw: Gateway, listener: TlsListener): () => void {
  return storeOf(gw).onChange(listener);
}

/** `GET /admin/certs` and `./cfs cert status --json`; `served` is what the gateway has in memory. */
export interface CertificatesReport {
  certificates: Array<CertificateStatus & { served: { serial: string; loadedAt: string } | null }>;
}

async function report(gw: Gateway): Promise<CertificatesReport> {
  const served = stores.get(gw)?.current;
  const statuses = await certificatesStatus(gw.config);
  return {
    certificates: statuses.map((s) => ({
      ...s,
      served:
        served && served.certFile === s.certFile
          ? { serial: served.serial, loadedAt: served.loadedAt }
          : null,
    })),
  };
}

function logOutcome(log: Logger, outcome: LoadOutcome, why: string): void {
  if (!outcome.ok) {
    const problems = outcome.findings.filter((f) => f.severity === 'error').map((f) => f.message);
    log.error(
      { problems },
      `certificate not reloaded (${why}): ${problems.join('; ')}; still serving the previous one`,
    );
    return;
  }
  for (const f of outcome.findings) log.warn(`certificate: ${f.message}`);
  if (outcome.changed) logServed(log, outcome.loaded, why);
}

function logServed(log: Logger, loaded: LoadedTls | undefined, why: string): void {
  if (!loaded) {
    log.info(`certificate removed (${why}): S3 serves plain HTTP`);
    return;
  }
  log.info(
    { serial: loaded.serial, cert: loaded.certFile, notAfter: loaded.notAfter },
    `certificate loaded (${why}): serial ${loaded.serial}, valid until ${loaded.notAfter}`,
  );
}

const refused = (outcome: LoadOutcome & { ok: false }, error: string) => ({
  status: 400,
  body: { error, findings: outcome.findings },
});

export const certsFeature: Feature = {
  name: 'certs',
  async start(gw) {
    const log = gw.log.child({ feature: 'certs' });
    const store = storeOf(gw);
    const first = await store.load(configuredCertificates(gw.config)[0]);
    logOutcome(log, first, 'start');

    gw.admin.add('GET', '/admin/certs', 'viewer', 'certs.status', async () => ({ body: await report(gw) }));

    gw.admin.add(
      'POST',
      '/admin/certs/reload',
      'admin',
      'certs.reload',
      async () => {
        const outcome = await store.load(configuredCertificates(gw.config)[0]);
        logOutcome(log, outcome, 'admin API');
        if (!outcome.ok)
          return refused(outcome, 'the certificate files are not usable; still serving the previous pair');
        return { body: { reloaded: outcome.changed, ...(await report(gw)) } };
      },
      TLS_TARGET,
    );

    gw.admin.add(
      'POST',
      '/admin/certs',
      'admin',
      'certs.replace',
      async ({ body }) => {
        const upload = parseUpload(body);
        if (typeof upload === 'string') return { status: 400, body: { error: upload } };
        const target = configuredCertificates(gw.config)[0];
        if (!target) {
          return {
            status: 409,
            body: {
              error: 's3.tls is not configured (or S3 is disabled): set s3.tls.cert and s3.tls.key first',
            },
          };
        }
        const { installed, outcome } = await store.exclusive(() => {
          const i = installPair(target, upload);
          const o: LoadOutcome = i.installed ? store.loadNow(target) : { ok: false, findings: i.findings };
          return { installed: i.installed, outcome: o };
        });
        if (!outcome.ok) {
          if (!installed) return refused(outcome, 'certificate refused; nothing was written');
          logOutcome(log, outcome, 'uploaded');
          return {
            status: 500,
            body: { error: 'the pair was written but could not be loaded', findings: outcome.findings },
          };
        }
        logOutcome(log, outcome, 'uploaded');
        return { body: { reloaded: outcome.changed, warnings: outcome.findings, ...(await report(gw)) } };
      },
      TLS_TARGET,
    );
  },
  async reload(gw) {
    const outcome = await storeOf(gw).load(configuredCertificates(gw.config)[0]);
    logOutcome(gw.log.child({ feature: 'certs' }), outcome, 'SIGHUP');
  },
  stop(gw) {
    stores.delete(gw);
  },
};
