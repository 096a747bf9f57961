import { formatProblem, type Problem } from '../../config/problems.ts';
import type { GatewayConfig } from '../../config/types.ts';
import type { StatusOptions } from '../certs/status.ts';
import { checkAdminToken } from './admin-token.ts';
import { checkMetadata, checkStateDir, checkTransport } from './backends.ts';
import { checkCertificates } from './certificates.ts';
import { checkDns } from './dns.ts';
import { checkPorts } from './ports.ts';
import { fail, type PreflightResult, pass, warn } from './result.ts';

export interface PreflightOptions {
  /** Default $CFS_ADMIN_TOKEN. */
  adminToken?: string;
  certificates?: StatusOptions;
}

/** A check that throws is a FAIL of its own item; the checklist goes on. */
async function guarded(
  item: string,
  check: () => PreflightResult | PreflightResult[] | Promise<PreflightResult | PreflightResult[]>,
): Promise<PreflightResult[]> {
  try {
    const r = await check();
    return Array.isArray(r) ? r : [r];
  } catch (e) {
    return [fail(item, `the check itself failed: ${(e as Error).message}`)];
  }
}

/**
 * The runbook's Day-1 checklist against a loaded configuration, in its order: networking
 * (ports, DNS), dependencies (state folder, metadata, transport, admin token), TLS.
 * `problems` are the loader's; TLS ones are left to the certificate check.
 */
export async function runPreflight(
  config: GatewayConfig,
  problems: readonly Problem[],
  opts: PreflightOptions = {},
): Promise<PreflightResult[]> {
  const token = 'adminToken' in opts ? opts.adminToken : process.env.CFS_ADMIN_TOKEN;
  const results: PreflightResult[] = [pass('configuration', `${config.configFile} is valid`)];
  for (const p of problems) {
    if (!p.path.startsWith('s3.tls')) results.push(warn('configuration', formatProblem(p)));
  }
  results.push(...(await guarded('ports', () => checkPorts(config))));
  results.push(...(await guarded('dns', () => checkDns(config))));
  results.push(...(await guarded('state folder', () => checkStateDir(config))));
  results.push(...(await guarded('metadata', () => checkMetadata(config))));
  results.push(...(await guarded('transport', () => checkTransport(config))));
  results.push(...(await guarded('admin token', () => checkAdminToken(config, token))));
  results.push(...(await guarded('certificates', () => checkCertificates(config, opts.certificates))));
  return results;
}
