import { configuredListeners } from '../../config/listeners.ts';
import { probeAddress } from '../../config/port-check.ts';
import type { GatewayConfig } from '../../config/types.ts';
import { runningGatewayPid } from '../../daemon/pid-file.ts';
import { fail, type PreflightResult, pass, warn } from './result.ts';
import { portOwners } from './socket-owners.ts';

/**
 * The runbook's `netstat -tuln | grep …`: each configured listener can be bound, or is held by
 * this very gateway (the live PID in `<state_dir>/gateway.pid`), which is what a preflight run
 * next to a running gateway should find.
 */
export async function checkPorts(config: GatewayConfig): Promise<PreflightResult[]> {
  const gatewayPid = runningGatewayPid(config.stateDir);
  const results: PreflightResult[] = [];
  const seen = new Set<string>();
  for (const listener of configuredListeners(config)) {
    const { address } = listener;
    const id = `${address.host}|${address.port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const item = `port ${listener.key}`;
    const problem = await probeAddress(address);
    if (problem === undefined) {
      results.push(pass(item, `${address.text} is free`));
      continue;
    }
    const { listening, owners } = portOwners(address.port);
    if (!listening) {
      results.push(fail(item, problem));
      continue;
    }
    if (gatewayPid !== undefined && owners.some((o) => o.pid === gatewayPid)) {
      results.push(pass(item, `${address.text} is held by this gateway (PID ${gatewayPid})`));
    } else if (owners.length > 0) {
      const who = owners.map((o) => `PID ${o.pid} (${o.command})`).join(', ');
      results.push(fail(item, `port ${address.port} is in use by ${who}, not by this gateway`));
    } else if (gatewayPid !== undefined) {
      results.push(
        warn(
          item,
          `port ${address.port} is in use; the gateway on this state folder (PID ${gatewayPid}) may hold it, but its sockets are not visible to this user`,
        ),
      );
    } else {
      results.push(fail(item, `port ${address.port} is in use by another user's process`));
    }
  }
  return results;
}
