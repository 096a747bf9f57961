import type { GatewayConfig } from '../../config/types.ts';
import { certificatesStatus, type StatusOptions } from '../certs/status.ts';
import { fail, type PreflightResult, pass, warn } from './result.ts';

/** One line per problem with each configured certificate, or one PASS line saying what it is. */
export async function checkCertificates(
  config: GatewayConfig,
  opts: StatusOptions = {},
): Promise<PreflightResult[]> {
  if (!config.s3.enabled) return [pass('certificates', 'S3 is disabled: no certificate to check')];
  const statuses = await certificatesStatus(config, opts);
  if (statuses.length === 0) return [pass('certificates', 'none configured: S3 serves plain HTTP')];
  return statuses.flatMap((s) => {
    if (s.findings.length === 0) {
      const trust = s.chain.verdict === 'self-signed' ? 'self-signed' : s.chain.message;
      return [pass(s.name, `${s.subject}, ${s.daysLeft} days left, key matches, ${trust}`)];
    }
    return s.findings.map((f) =>
      f.severity === 'error' ? fail(s.name, f.message) : warn(s.name, f.message),
    );
  });
}
