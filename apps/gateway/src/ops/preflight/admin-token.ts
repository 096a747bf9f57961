import { existsSync } from 'node:fs';
import type { GatewayConfig } from '../../config/types.ts';
import { type ControlPlane, openControlPlane } from '../../control/index.ts';
import { fail, type PreflightResult, pass, warn } from './result.ts';

/** The runbook's "authentication token is valid": $CFS_ADMIN_TOKEN, verified against the control plane. */
export async function checkAdminToken(
  config: GatewayConfig,
  token: string | undefined = process.env.CFS_ADMIN_TOKEN,
): Promise<PreflightResult> {
  const item = 'admin token';
  if (token === undefined || token === '') {
    return config.admin.trustLoopback
      ? pass(
          item,
          'CFS_ADMIN_TOKEN is not set: ./cfs commands on this host use loopback trust (admin.trust_loopback)',
        )
      : warn(
          item,
          'CFS_ADMIN_TOKEN is not set and admin.trust_loopback is false: ./cfs gateway drain and log-level will be refused',
        );
  }
  if (config.control.kind === 'sqlite' && !existsSync(config.control.path)) {
    return fail(
      item,
      `CFS_ADMIN_TOKEN is set, but ${config.stateDir} has no control plane yet, so no token can be valid`,
    );
  }
  let control: ControlPlane;
  try {
    control = await openControlPlane({ stateDir: config.stateDir, url: config.control.url });
  } catch (e) {
    return fail(item, `cannot open the control plane to check CFS_ADMIN_TOKEN: ${(e as Error).message}`);
  }
  try {
    const found = await control.adminTokens.verify(token);
    return found
      ? pass(item, `CFS_ADMIN_TOKEN is valid: token ${found.name}, role ${found.role}`)
      : fail(item, 'CFS_ADMIN_TOKEN is not a valid token (unknown, revoked or expired)');
  } catch (e) {
    return fail(item, `cannot check CFS_ADMIN_TOKEN: ${(e as Error).message}`);
  } finally {
    await control.close();
  }
}
