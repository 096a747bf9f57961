import { checkServerIdentity } from 'node:tls';
import { type CertificateStatus, certificatesStatus } from '../../certs/status.ts';
import type { Measured } from '../api.ts';
import type { DiagnosisContext, DiagnosticTree } from '../engine.ts';
import {
  backendEndpoints,
  type Endpoint,
  type HandshakeResult,
  listenerEndpoints,
  reachable,
  tcpProbe,
  tlsProbe,
} from '../probes.ts';
import { commands, manual, ms, opsBase, RUNBOOK } from './common.ts';

/** The gateway's MOUNT refusals (protocols/mount/mnt.ts), as logged. */
const MOUNT_REFUSAL = /^MOUNT of \S+ refused to \S+: /;
/** checkTlsPair's own threshold: fewer days left than this is a warning everywhere. */
const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

interface S3Target {
  host: string;
  port: number;
  /** What clients ask for (SNI and host-name match): s3.domain, else the certificate's CN. */
  servername?: string;
}

function s3Target(ctx: DiagnosisContext, cert: CertificateStatus | undefined): S3Target {
  const { s3 } = ctx.gw.config;
  const bound = listenerEndpoints(ctx.gw).find((e) => e.name.startsWith('S3'));
  const cn = /(?:^|, )CN=([^,]+)/.exec(cert?.subject ?? '')?.[1];
  return {
    host: bound?.host ?? reachable(s3.bind.host),
    port: bound?.port ?? s3.bind.port,
    ...(s3.domain ? { servername: s3.domain } : cn ? { servername: cn } : {}),
  };
}

const certStatus = (ctx: DiagnosisContext) =>
  ctx.memo('certificates', async () =>
    (await certificatesStatus(ctx.gw.config)).find((c) => c.name === 's3.tls'),
  );

const handshake = (ctx: DiagnosisContext) =>
  ctx.memo<HandshakeResult>('handshake', async () => {
    const t = s3Target(ctx, await certStatus(ctx));
    return tlsProbe(t.host, t.port, t.servername);
  });

/** The runbook's openssl lines for this gateway's S3 listener. */
function opensslCommands(t: S3Target): string[] {
  const name = t.servername ?? t.host;
  return [
    `openssl s_client -connect ${t.host}:${t.port}${t.servername ? ` -servername ${t.servername}` : ''} -showcerts </dev/null 2>/dev/null | openssl x509 -noout -dates`,
    `openssl s_client -connect ${name}:${t.port} -showcerts </dev/null 2>/dev/null | openssl x509 -noout -subject -ext subjectAltName`,
  ];
}

function probeAll(endpoints: Endpoint[]) {
  return Promise.all(endpoints.map(async (e) => ({ ...e, ...(await tcpProbe(e.host, e.port)) })));
}

export const connectionTree: DiagnosticTree = {
  id: 'connection',
  title: 'Connection failures',
  runbook: { section: RUNBOOK.connection },
  summary:
    'For HTTPS S3: a TLS handshake as a client makes it, the certificate’s dates, chain and host name. Then a TCP connect to every listener and to network backends.',
  inputs: [],
  start: 'tls-configured',
  steps: [
    {
      id: 'tls-configured',
      title: 'Does S3 speak TLS?',
      kind: 'check',
      runbook: { section: RUNBOOK.tls },
      description: 'Only S3 serves TLS; without s3.tls there is no certificate to check.',
      branches: { https: 'tls-handshake', http: 'firewall', disabled: 'firewall' },
      run(ctx) {
        const { s3 } = ctx.gw.config;
        if (!s3.enabled) {
          return {
            outcome: 'disabled',
            verdict: 'skipped',
            summary: 'S3 is disabled: no TLS listener',
            because: 's3.enabled is false',
            measured: { s3Enabled: false },
          };
        }
        if (!s3.tls) {
          return {
            outcome: 'http',
            verdict: 'skipped',
            summary: `S3 serves plain HTTP on ${s3.bind.text}: no certificate involved`,
            because: 's3.tls is not set',
            measured: { s3Enabled: true, tls: false, bind: s3.bind.text },
          };
        }
        return {
          outcome: 'https',
          verdict: 'pass',
          summary: `S3 serves HTTPS on ${s3.bind.text} with ${s3.tls.cert}`,
          because: 's3.tls is set',
          measured: {
            s3Enabled: true,
            tls: true,
            bind: s3.bind.text,
            certFile: s3.tls.cert,
            keyFile: s3.tls.key,
            domain: s3.domain ?? null,
          },
        };
      },
    },
    {
      id: 'tls-handshake',
      title: 'TLS handshake to the S3 port',
      kind: 'check',
      runbook: {
        section: RUNBOOK.tls,
        quote:
          'openssl s_client -connect gateway.claudefs.local:9000 -showcerts </dev/null 2>/dev/null | openssl x509 -noout -dates',
      },
      description:
        'Connects to the S3 listener as a client would (SNI = s3.domain) and reads the certificate it is served.',
      branches: { ok: 'cert-dates', failed: 'handshake-failed' },
      async run(ctx) {
        const cert = await certStatus(ctx);
        const t = s3Target(ctx, cert);
        const h = await handshake(ctx);
        const measured: Record<string, Measured> = {
          target: `${t.host}:${t.port}`,
          servername: t.servername ?? null,
          ms: h.ms,
          ok: h.ok,
          protocol: h.protocol ?? null,
          cipher: h.cipher ?? null,
          authorized: h.authorized ?? null,
          authorizationError: h.authorizationError ?? null,
          served: h.peer ? { ...h.peer } : null,
          servedMatchesFile:
            h.peer && cert?.fingerprintSha256 ? h.peer.fingerprint256 === cert.fingerprintSha256 : null,
        };
        const cmds = commands(opensslCommands(t), [`./cfs cert status`]);
        if (!h.ok) {
          return {
            outcome: 'failed',
            verdict: 'fail',
            summary: `no TLS handshake with ${t.host}:${t.port}: ${h.error}`,
            because: 'a client cannot get a certificate at all',
            measured,
            evidence: [`handshake failed after ${ms(h.ms)}: ${h.error}`],
            commands: cmds,
          };
        }
        const evidence = [
          `handshake in ${ms(h.ms)}: ${h.protocol}, ${h.cipher}`,
          `served: ${h.peer?.subject ?? '?'}; ${h.peer?.subjectAltName || 'no subjectAltName'}`,
          `notBefore=${h.peer?.validFrom}  notAfter=${h.peer?.validTo}`,
          `a default client would ${h.authorized ? 'accept it' : `refuse it: ${h.authorizationError}`}`,
        ];
        if (measured.servedMatchesFile === false) {
          evidence.push(
            `the served certificate is not ${cert?.certFile}: the file changed and was not reloaded (SIGHUP or ./cfs cert …)`,
          );
        }
        return {
          outcome: 'ok',
          verdict: measured.servedMatchesFile === false ? 'warn' : 'pass',
          summary: `handshake ok in ${ms(h.ms)} (${h.protocol})`,
          because: 'the listener answered with a certificate',
          measured,
          evidence,
          commands: cmds,
          ...(measured.servedMatchesFile === false
            ? { finding: 'the served certificate differs from the configured file: reload it' }
            : {}),
        };
      },
    },
    {
      id: 'handshake-failed',
      title: 'Check the listener by hand',
      kind: 'manual',
      runbook: { section: RUNBOOK.tls },
      description: 'The runbook’s openssl line shows what a client gets.',
      branches: { done: 'cert-dates' },
      commands: commands(
        [
          'openssl s_client -connect gateway.claudefs.local:9000 -showcerts </dev/null 2>/dev/null | openssl x509 -noout -dates',
        ],
        ['./cfs cert status'],
      ),
      async run(ctx) {
        const t = s3Target(ctx, await certStatus(ctx));
        return manual(
          'run the runbook’s openssl command from a client: it shows whether anything answers TLS there',
          commands(opensslCommands(t), [
            './cfs cert status',
            `curl -sk https://${t.host}:${t.port}/ | head -5`,
          ]),
        );
      },
    },
    {
      id: 'cert-dates',
      title: 'Certificate dates',
      kind: 'check',
      runbook: { section: RUNBOOK.tls, quote: 'Check certificate validity … openssl x509 -noout -dates' },
      description: `notBefore and notAfter of the certificate served (else of the file); fewer than ${EXPIRY_WARNING_DAYS} days left is a warning.`,
      branches: {
        valid: 'chain',
        expiring: 'chain',
        expired: 'chain',
        'not-yet-valid': 'chain',
        unreadable: 'chain',
      },
      async run(ctx) {
        const cert = await certStatus(ctx);
        const h = await handshake(ctx);
        const notBefore = h.peer?.validFrom ?? cert?.notBefore ?? null;
        const notAfter = h.peer?.validTo ?? cert?.notAfter ?? null;
        const source = h.peer ? 'served certificate' : (cert?.certFile ?? 'certificate file');
        if (!notBefore || !notAfter) {
          return {
            outcome: 'unreadable',
            verdict: 'fail',
            summary: `${source}: dates cannot be read`,
            because: 'no certificate could be read',
            measured: { source },
          };
        }
        const now = Date.now();
        const daysLeft = Math.floor((Date.parse(notAfter) - now) / DAY_MS);
        const measured = { source, notBefore, notAfter, daysLeft, warningDays: EXPIRY_WARNING_DAYS };
        const evidence = [`${source}: notBefore=${notBefore} notAfter=${notAfter} (${daysLeft} days left)`];
        if (Date.parse(notAfter) <= now) {
          return {
            outcome: 'expired',
            verdict: 'fail',
            summary: `certificate expired on ${notAfter}`,
            because: `notAfter ${notAfter} is in the past`,
            measured,
            evidence,
            finding: `the S3 certificate expired on ${notAfter}: clients refuse it`,
          };
        }
        if (Date.parse(notBefore) > now) {
          return {
            outcome: 'not-yet-valid',
            verdict: 'fail',
            summary: `certificate not valid before ${notBefore}`,
            because: `notBefore ${notBefore} is in the future (clock?)`,
            measured,
            evidence,
            finding: `the S3 certificate is not valid before ${notBefore}`,
          };
        }
        if (daysLeft < EXPIRY_WARNING_DAYS) {
          return {
            outcome: 'expiring',
            verdict: 'warn',
            summary: `certificate expires in ${daysLeft} days (${notAfter})`,
            because: `${daysLeft} days left < ${EXPIRY_WARNING_DAYS}`,
            measured,
            evidence,
            finding: `the S3 certificate expires in ${daysLeft} days (${notAfter}): renew it and install with ./cfs cert or the console`,
          };
        }
        return {
          outcome: 'valid',
          verdict: 'pass',
          summary: `certificate valid until ${notAfter} (${daysLeft} days)`,
          because: `${daysLeft} days left ≥ ${EXPIRY_WARNING_DAYS}`,
          measured,
          evidence,
        };
      },
    },
    {
      id: 'chain',
      title: 'Certificate chain',
      kind: 'check',
      runbook: {
        section: RUNBOOK.tls,
        quote: 'Common error: "certificate verify failed" — Fix: Ensure CA cert is in system trust store',
      },
      description:
        'openssl verify against the host trust store, as curl, the aws CLI and s3cmd do it; a self-signed certificate needs the file handed to each client.',
      branches: { trusted: 'hostname', 'self-signed': 'hostname', unverified: 'trust-store' },
      async run(ctx) {
        const cert = await certStatus(ctx);
        const h = await handshake(ctx);
        const verdict = cert?.chain.verdict ?? 'unknown';
        const measured = {
          verdict,
          message: cert?.chain.message ?? 'no certificate file',
          clientVerdict: h.authorizationError ?? (h.authorized ? 'authorized' : null),
        };
        const evidence = [
          cert?.chain.message ?? 'no certificate file',
          ...(h.ok ? [`handshake verdict: ${h.authorized ? 'trusted' : h.authorizationError}`] : []),
        ];
        if (verdict === 'self-signed') {
          return {
            outcome: 'self-signed',
            verdict: 'pass',
            summary:
              'self-signed: clients trust it only when given this file (aws --ca-bundle, curl --cacert)',
            because: 'issuer = subject and it verifies with its own key',
            measured,
            evidence,
          };
        }
        if (verdict === 'verified') {
          return {
            outcome: 'trusted',
            verdict: 'pass',
            summary: cert?.chain.message ?? 'verified',
            because: 'openssl verify succeeded',
            measured,
            evidence,
          };
        }
        return {
          outcome: 'unverified',
          verdict: 'warn',
          summary: cert?.chain.message ?? 'chain not verified',
          because: 'openssl verify failed against the system trust store',
          measured,
          evidence,
          finding: `clients will say "certificate verify failed": ${cert?.chain.message ?? 'chain not verified'}`,
        };
      },
    },
    {
      id: 'trust-store',
      title: 'Put the CA in the trust store',
      kind: 'manual',
      runbook: { section: RUNBOOK.tls, quote: 'Fix: Ensure CA cert is in system trust store' },
      description: 'On each client (and here, for the check).',
      branches: { done: 'hostname' },
      commands: commands(['sudo cp ca.crt /usr/local/share/ca-certificates/', 'sudo update-ca-certificates']),
      run: () =>
        manual(
          'install the issuing CA on every client, or serve a certificate from a CA they already trust',
          commands(
            ['sudo cp ca.crt /usr/local/share/ca-certificates/', 'sudo update-ca-certificates'],
            ['./cfs cert status'],
          ),
        ),
    },
    {
      id: 'hostname',
      title: 'Host name match',
      kind: 'check',
      runbook: { section: RUNBOOK.tls },
      description:
        'The certificate must name the host clients connect to: s3.domain (checked as a TLS client checks it).',
      branches: { match: 'firewall', mismatch: 'firewall', unchecked: 'firewall' },
      async run(ctx) {
        const cert = await certStatus(ctx);
        const h = await handshake(ctx);
        const domain = ctx.gw.config.s3.domain;
        const names = h.peer?.subjectAltName || cert?.subjectAltNames.join(', ') || '';
        const measured = {
          domain: domain ?? null,
          subject: h.peer?.subject ?? cert?.subject ?? null,
          subjectAltName: names,
        };
        if (!domain) {
          return {
            outcome: 'unchecked',
            verdict: 'info',
            summary: `no s3.domain configured: clients must connect by a name the certificate holds (${names || (h.peer?.subject ?? cert?.subject ?? 'none')})`,
            because: 'without s3.domain the wizard does not know the name clients use',
            measured,
          };
        }
        const peer = h.raw;
        const err = peer ? checkServerIdentity(domain, peer) : undefined;
        const fileNames = cert?.subjectAltNames ?? [];
        const ok = peer ? err === undefined : fileNames.some((n) => n === `DNS:${domain}`);
        if (ok) {
          return {
            outcome: 'match',
            verdict: 'pass',
            summary: `the certificate names ${domain}`,
            because: `${domain} matches ${names || measured.subject}`,
            measured,
          };
        }
        return {
          outcome: 'mismatch',
          verdict: 'fail',
          summary: `the certificate does not name ${domain}${err ? `: ${err.message}` : ''}`,
          because: `${domain} is not among ${names || measured.subject}`,
          measured,
          finding: `host name mismatch: clients connecting to ${domain} will refuse the certificate`,
        };
      },
    },
    {
      id: 'firewall',
      title: 'Firewall: TCP connect to every listener and backend',
      kind: 'check',
      runbook: { section: RUNBOOK.firewall, quote: 'nc -zv meta-1.claudefs.local 7001' },
      description:
        'What `nc -zv host port` does, for each socket this gateway listens on and each backend it reaches over the network.',
      branches: { open: null, blocked: 'firewall-rules' },
      async run(ctx) {
        const listeners = await probeAll(listenerEndpoints(ctx.gw));
        const backends = await probeAll(backendEndpoints(ctx.gw));
        const all = [...listeners, ...backends];
        const evidence = all.map(
          (p) =>
            `${p.name} ${p.host}:${p.port} (${p.address}): ${p.ok ? `open in ${ms(p.ms)}` : `FAILED: ${p.error}`}`,
        );
        const { metadata, transport } = ctx.gw.config;
        if (backends.length === 0)
          evidence.push(
            `backends are local (metadata ${metadata.kind}, transport ${transport.kind}): no network path to test`,
          );
        const measured = {
          endpoints: all.map((p) => ({
            name: p.name,
            target: `${p.host}:${p.port}`,
            ok: p.ok,
            ms: p.ms,
            error: p.error ?? null,
          })),
        };
        const failed = all.filter((p) => !p.ok);
        if (failed.length > 0) {
          return {
            outcome: 'blocked',
            verdict: 'fail',
            summary: `${failed.length} of ${all.length} endpoints refuse or drop a TCP connect: ${failed.map((f) => f.name).join(', ')}`,
            because: failed.map((f) => `${f.name}: ${f.error}`).join('; '),
            measured,
            evidence,
            finding: `cannot connect to ${failed.map((f) => `${f.name} (${f.host}:${f.port}: ${f.error})`).join(', ')}`,
          };
        }
        // A client the network lets through may still be refused by the gateway itself: an NFS
        // export's clients list answers MNT3ERR_ACCES (logged as a warning), no firewall.
        const mounts = ctx.logs.find((msg) => MOUNT_REFUSAL.test(msg));
        if (mounts.length > 0) {
          const lines = mounts
            .slice(-5)
            .map((l) => `${l.time ? new Date(l.time).toISOString() : ''} ${l.msg}`.trim());
          return {
            outcome: 'open',
            verdict: 'fail',
            summary: `every endpoint accepts a TCP connect, but ${mounts.length} NFS mount${mounts.length === 1 ? ' was' : 's were'} refused by the gateway recently`,
            because:
              'an export takes mounts only from the clients it lists (nfs.exports[].clients), as exports(5) does',
            measured: { ...measured, mountRefusals: mounts.length },
            evidence: [...evidence, ...lines],
            finding: `NFS clients refused by the exports, not by a firewall: ${lines.at(-1)} — add the client to that export's clients (or mount a path it exports) and reload`,
          };
        }
        return {
          outcome: 'open',
          verdict: 'pass',
          summary: `all ${all.length} endpoints accept a TCP connect from this host`,
          because: 'every connect succeeded',
          measured,
          evidence,
          conclusion:
            ctx.gw.config.s3.enabled && ctx.gw.config.s3.tls
              ? 'the gateway accepts connections and serves a usable certificate: a client that still fails is blocked on its own side or path (its firewall, its trust store)'
              : 'the gateway accepts connections on every listener: a client that still fails is blocked on its own side or path (its firewall)',
        };
      },
    },
    {
      id: 'firewall-rules',
      title: 'Check the firewall rules',
      kind: 'manual',
      runbook: { section: RUNBOOK.firewall },
      description: 'Test from the client side and look at the host rules.',
      branches: { done: null },
      commands: commands([
        'nc -zv meta-1.claudefs.local 7001',
        'sudo iptables -L -n -v | grep 7001',
        'sudo iptables -A INPUT -p tcp -s 10.0.0.0/8 --dport 7001 -j ACCEPT',
      ]),
      run(ctx) {
        const ports = listenerEndpoints(ctx.gw).map((e) => e.port);
        const first = listenerEndpoints(ctx.gw)[0];
        return manual(
          'test the same ports from a client, and look for a DROP or REJECT rule on this host',
          commands(
            [
              ...(first ? [`nc -zv ${first.host} ${first.port}`] : []),
              `sudo iptables -L -n -v | grep -E '(${ports.join('|')})'`,
              `sudo iptables -A INPUT -p tcp -s 10.0.0.0/8 --dport ${first?.port ?? 9000} -j ACCEPT`,
            ],
            [`curl -s ${opsBase(ctx.gw)}/health`, './cfs gateway preflight'],
          ),
        );
      },
    },
  ],
};
