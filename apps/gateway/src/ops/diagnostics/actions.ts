import { REMEDIATION_ROLES } from '@claudefs/api';
import { adminBaseUrl } from '../../cli/admin-client.ts';
import { LOG_LEVELS, type LogLevel } from '../../config/defaults.ts';
import { ControlError } from '../../control/index.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { isFsError } from '../../storage/errors.ts';
import { UnitError } from '../../util/units.ts';
import { invalidateCaches, resetCircuit } from '../admin/endpoints.ts';
import type { AdminResult } from '../admin/routes.ts';
import { drainControllerOf } from '../drain/feature.ts';
import { invalidateCredentials } from '../identity/credentials.ts';
import { quotaControl } from '../trpc/quota-control.ts';
import type { Measured, OfferedAction, RemediationRequest, RemediationResult } from './api.ts';
import { DiagnosticsError } from './errors.ts';

/** A JSON-safe copy of an endpoint's answer (bigints become decimal strings). */
function json(value: unknown): Measured {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v))) as Measured;
}

function body(result: AdminResult): unknown {
  const status = result.status ?? 200;
  if (status < 400) return result.body;
  const error = (result.body as { error?: unknown } | undefined)?.error;
  const message = typeof error === 'string' ? error : `failed with HTTP status ${status}`;
  throw new DiagnosticsError(message, status === 404 ? 404 : 400);
}

function drainController(gw: Gateway) {
  const c = drainControllerOf(gw);
  if (!c) throw new DiagnosticsError('the drain feature is not running', 412);
  return c;
}

/** Runs one remediation through the function the admin API, CLI or console already uses for it. */
export async function remediate(gw: Gateway, request: RemediationRequest): Promise<RemediationResult> {
  try {
    return await run(gw, request);
  } catch (e) {
    if (e instanceof ControlError) {
      throw new DiagnosticsError(e.message, e.code === 'NOT_FOUND' ? 404 : e.code === 'EXISTS' ? 409 : 400);
    }
    if (e instanceof UnitError) throw new DiagnosticsError(e.message, 400);
    if (isFsError(e, 'ENOENT')) throw new DiagnosticsError((e as Error).message, 404);
    throw e;
  }
}

async function run(gw: Gateway, r: RemediationRequest): Promise<RemediationResult> {
  switch (r.action) {
    case 'drain': {
      const s = await drainController(gw).apply('drain');
      return {
        action: r.action,
        summary: `draining: listeners refuse new connections (${s.connections} open)`,
        result: json(s),
      };
    }
    case 'undrain': {
      const s = await drainController(gw).apply('undrain');
      return {
        action: r.action,
        summary: 'serving: listeners accept new connections again',
        result: json(s),
      };
    }
    case 'cache.invalidate': {
      const req = r.scope === 'path' ? { path: r.path } : r.scope === 'uid' ? { uid: r.uid } : {};
      const b = body(await invalidateCaches(gw, req)) as { scope: string; dropped: { total: number } };
      return {
        action: r.action,
        summary: `cache invalidated (${b.scope}): ${b.dropped.total} entries dropped`,
        result: json(b),
      };
    }
    case 'circuit.reset': {
      const b = body(resetCircuit(gw, r.backend)) as { state: string };
      return { action: r.action, summary: `${r.backend} circuit reset: now ${b.state}`, result: json(b) };
    }
    case 'quota.set': {
      const { action: _a, ...request } = r;
      const view = await quotaControl(gw).setQuota(request);
      return {
        action: r.action,
        summary: `quota for ${r.kind}=${r.id} set: soft ${view.bytes.softText ?? 'none'}, hard ${view.bytes.hardText ?? 'none'} (${view.state})`,
        result: json(view),
      };
    }
    case 'log-level.set': {
      if (!(LOG_LEVELS as readonly string[]).includes(r.level)) {
        throw new DiagnosticsError(`level must be one of ${LOG_LEVELS.join(', ')}`);
      }
      const previous = gw.log.level;
      gw.log.level = r.level as LogLevel;
      // At warn, as POST /admin/log-level does, so the change shows whichever way it went.
      gw.log.warn({ from: previous, to: r.level, via: 'diagnostics' }, `log level ${previous} -> ${r.level}`);
      return {
        action: r.action,
        summary: `log level ${previous} -> ${r.level}`,
        result: { previous, level: r.level },
      };
    }
    case 'group.add-member': {
      await gw.control.users.addToGroup(r.user, r.group);
      // Takes effect for the next session at once instead of within the credential cache's TTL.
      invalidateCredentials(gw, r.user);
      return {
        action: r.action,
        summary: `${r.user} added to group ${r.group}`,
        result: { user: r.user, group: r.group },
      };
    }
  }
}

/** The same change from a shell on the gateway host. */
function cliOf(gw: Gateway, r: RemediationRequest): string {
  const base = adminBaseUrl(gw.config.health.bind);
  const post = (path: string, b?: unknown) =>
    `curl -X POST ${base}${path}${b === undefined ? '' : ` -H 'content-type: application/json' -d '${JSON.stringify(b)}'`}`;
  switch (r.action) {
    case 'drain':
      return './cfs gateway drain';
    case 'undrain':
      return './cfs gateway undrain';
    case 'cache.invalidate':
      return post(
        '/admin/cache/invalidate',
        r.scope === 'path' ? { path: r.path } : r.scope === 'uid' ? { uid: r.uid } : undefined,
      );
    case 'circuit.reset':
      return post(`/admin/circuits/${r.backend}/reset`);
    case 'quota.set': {
      const flags = [
        r.soft ? `--soft ${r.soft}` : '',
        r.hard ? `--hard ${r.hard}` : '',
        r.grace ? `--grace ${r.grace}` : '',
        r.softInodes != null ? `--soft-inodes ${r.softInodes}` : '',
        r.hardInodes != null ? `--hard-inodes ${r.hardInodes}` : '',
      ].filter(Boolean);
      return `./cfs quota set-${r.kind === 'uid' ? 'user' : 'group'} --${r.kind} ${r.id} ${flags.join(' ')}`.trim();
    }
    case 'log-level.set':
      return `./cfs gateway log-level ${r.level}`;
    case 'group.add-member':
      return `./cfs group add-member ${r.group} ${r.user}`;
  }
}

/** An action as a step offers it: prefilled, with its role, confirmation and shell equivalent. */
export function offer(
  gw: Gateway,
  request: RemediationRequest,
  label: string,
  confirm: string,
  editable?: string[],
): OfferedAction {
  return {
    request,
    label,
    minRole: REMEDIATION_ROLES[request.action],
    confirm,
    cli: cliOf(gw, request),
    ...(editable ? { editable } : {}),
  };
}
