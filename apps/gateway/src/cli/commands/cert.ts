import type { Command } from 'commander';
import type { GatewayConfig } from '../../config/types.ts';
import { runningGatewayPid } from '../../daemon/pid-file.ts';
import type { CertificatesReport } from '../../ops/certs/feature.ts';
import { type CertificateStatus, certificatesStatus, type StatusOptions } from '../../ops/certs/status.ts';
import { AdminClient, loadOperatorConfig } from '../admin-client.ts';
import { runCli } from '../context.ts';
import type { CommandOutput } from '../format/output.ts';

function keyLine(s: CertificateStatus): string {
  if (s.keyMatches === null) return `${s.keyFile} (not checked: a file cannot be read)`;
  return `${s.keyFile} (${s.keyMatches ? 'matches the certificate' : 'DOES NOT MATCH the certificate'})`;
}

/** `daysLeft` is rounded down: -1 is "expired less than a day ago", -2 "1 day ago". */
function validityLine(s: CertificateStatus): string {
  const days = s.daysLeft ?? 0;
  const ago = -days - 1;
  const left =
    days >= 0
      ? `${days} day${days === 1 ? '' : 's'} left`
      : ago === 0
        ? 'expired less than a day ago'
        : `expired ${ago} day${ago === 1 ? '' : 's'} ago`;
  return `${s.notBefore} to ${s.notAfter} (${left})`;
}

/** One block per certificate, in the order `openssl x509 -text` would make an operator look. */
export function humanCertStatus(
  statuses: ReadonlyArray<
    CertificateStatus & Partial<Pick<CertificatesReport['certificates'][number], 'served'>>
  >,
): string {
  if (statuses.length === 0) return 'no certificates configured (s3.tls is not set, or S3 is disabled)\n';
  const blocks = statuses.map((s) => {
    const rows: [string, string][] = [['certificate', s.certFile]];
    rows.push(['key', keyLine(s)]);
    if (s.subject !== null) {
      rows.push(['subject', s.subject]);
      rows.push(['SANs', s.subjectAltNames.length > 0 ? s.subjectAltNames.join(', ') : '(none)']);
      rows.push(['issuer', `${s.issuer}${s.selfSigned ? ' (self-signed)' : ''}`]);
      rows.push(['serial', s.serial ?? '']);
      rows.push(['valid', validityLine(s)]);
      rows.push(['chain', s.chain.message]);
    }
    const lines = [
      `${s.name}: ${s.verdict.toUpperCase()}`,
      ...rows.map(([k, v]) => `  ${k.padEnd(12)} ${v}`),
    ];
    if (s.served)
      lines.push(`  ${'served'.padEnd(12)} serial ${s.served.serial}, loaded ${s.served.loadedAt}`);
    for (const f of s.findings)
      lines.push(`  ${f.severity === 'error' ? 'ERROR  ' : 'WARNING'} ${f.message}`);
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

/**
 * The certificates of the gateway running on the configuration's state folder, as it serves
 * them (a pair given with --tls-cert/--tls-key at its start included); undefined when none runs
 * or it does not answer, and the files are read instead.
 */
async function fromRunningGateway(
  config: GatewayConfig,
): Promise<CertificatesReport['certificates'] | undefined> {
  if (runningGatewayPid(config.stateDir) === undefined) return undefined;
  try {
    return (await AdminClient.forConfig(config, { timeoutMs: 5000 }).get<CertificatesReport>('/admin/certs'))
      .certificates;
  } catch {
    return undefined;
  }
}

/** Exit status 0 when every certificate is usable (warnings allowed), 1 when one is not. */
export async function certStatusCommand(
  config: GatewayConfig,
  o: { json?: boolean; askGateway?: boolean } & StatusOptions = {},
): Promise<CommandOutput> {
  const { json, askGateway, ...opts } = o;
  const certificates =
    (askGateway ? await fromRunningGateway(config) : undefined) ?? (await certificatesStatus(config, opts));
  const stdout = json ? `${JSON.stringify({ certificates }, null, 2)}\n` : humanCertStatus(certificates);
  return { stdout, stderr: '', exitCode: certificates.some((c) => c.verdict === 'error') ? 1 : 0 };
}

export function registerCert(program: Command): void {
  const cert = program.command('cert').description('TLS certificates the gateway serves');
  cert
    .command('status')
    .description(
      'subject, SANs, validity, key match and trust of each certificate: as the running gateway serves them, else as the configuration names them',
    )
    .option('--json', 'print { certificates: [...] } as JSON')
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .action((opts: { json?: boolean; config?: string }) =>
      runCli(async () => {
        const { config } = await loadOperatorConfig(opts.config);
        const out = await certStatusCommand(config, { json: opts.json === true, askGateway: true });
        process.stdout.write(out.stdout);
        process.stderr.write(out.stderr);
        return out.exitCode;
      }),
    );
}
