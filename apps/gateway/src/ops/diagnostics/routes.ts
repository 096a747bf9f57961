import { REMEDIATION_ACTIONS, REMEDIATION_ROLES } from '@claudefs/api';
import type { Gateway } from '../../daemon/gateway.ts';
import type { AdminResult } from '../admin/routes.ts';
import type { RemediationActionId, RemediationRequest } from './api.ts';
import { DiagnosticsError } from './errors.ts';
import { type DiagnosticsService, parseRunRequest } from './service.ts';

async function answer(work: () => Promise<unknown> | unknown): Promise<AdminResult> {
  try {
    return { body: await work() };
  } catch (e) {
    if (e instanceof DiagnosticsError) return { status: e.status, body: { error: e.message } };
    throw e;
  }
}

/** `{action, …body}`: the action is the route's; every field is checked again where it is used. */
function remediation(action: RemediationActionId, body: unknown): RemediationRequest {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new DiagnosticsError('body must be a JSON object');
  }
  const b = { ...(body as Record<string, unknown> | undefined) };
  if (action === 'cache.invalidate' && b.scope === undefined) {
    b.scope = typeof b.path === 'string' ? 'path' : typeof b.uid === 'number' ? 'uid' : 'all';
  }
  const strings: Partial<Record<RemediationActionId, string[]>> = {
    'circuit.reset': ['backend'],
    'log-level.set': ['level'],
    'group.add-member': ['user', 'group'],
    'quota.set': ['kind'],
  };
  for (const k of strings[action] ?? []) {
    if (typeof b[k] !== 'string') throw new DiagnosticsError(`${action} needs "${k}"`);
  }
  if (action === 'quota.set' && (typeof b.id !== 'number' || !Number.isInteger(b.id) || b.id < 0)) {
    throw new DiagnosticsError('quota.set needs "id" (a uid or gid)');
  }
  return { ...b, action } as RemediationRequest;
}

/**
 * The admin API's face of the diagnostics (what `./cfs diagnose` calls): list and run (viewer),
 * a support bundle (viewer), and one route per remediation with that action's role. Every call
 * is audited by AdminRoutes.
 */
export function registerDiagnosticsRoutes(gw: Gateway, service: DiagnosticsService): void {
  gw.admin.add('GET', '/admin/diagnostics/trees', 'viewer', 'diagnostics.list', () =>
    answer(() => service.trees()),
  );
  gw.admin.add(
    'POST',
    '/admin/diagnostics/run',
    'viewer',
    'diagnostics.run',
    ({ body, caller }) => answer(() => service.run(parseRunRequest(body), caller.actor)),
    ({ body }) => `tree:${String((body as { tree?: unknown } | undefined)?.tree)}`,
  );
  // {runId} bundles a recent run; a run request runs the tree first and bundles that run.
  gw.admin.add('POST', '/admin/diagnostics/bundle', 'viewer', 'diagnostics.bundle', ({ body, caller }) =>
    answer(async () => {
      const b = (body ?? {}) as { runId?: unknown; tree?: unknown };
      if (b.tree !== undefined) {
        const run = await service.run(parseRunRequest(body), caller.actor);
        return service.bundle({ runId: run.id });
      }
      if (b.runId !== undefined && typeof b.runId !== 'string')
        throw new DiagnosticsError('runId must be a string');
      return service.bundle(typeof b.runId === 'string' ? { runId: b.runId } : {});
    }),
  );
  // packages/api's one table of who may run each remediation: the router enforces it for tRPC.
  for (const action of REMEDIATION_ACTIONS) {
    gw.admin.add(
      'POST',
      `/admin/diagnostics/remediate/${action}`,
      REMEDIATION_ROLES[action],
      'diagnostics.remediate',
      ({ body }) => answer(() => service.remediate(remediation(action, body))),
    );
  }
}
