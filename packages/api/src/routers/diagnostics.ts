import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { accountName, durationText, id, inodeCount, sizeText } from '../schemas.ts';
import {
  actorOf,
  field,
  operatorProcedure,
  type RawInput,
  roleAtLeast,
  router,
  viewerProcedure,
} from '../trpc.ts';
import {
  type BundleRequest,
  DIAGNOSTIC_TREE_IDS,
  type DiagnosticRequest,
  type DiagnosticRun,
  type DiagnosticTreeDef,
  REMEDIATION_ROLES,
  type RemediationRequest,
  type RemediationResult,
  type SupportBundle,
} from '../types/diagnostics.ts';

const namespacePath = z.string().min(1, 'path must not be empty').max(4096);

/** Which tree, and whom or what it is about; what a tree needs of these the gateway checks. */
export const runInput = z.object({
  tree: z.enum(DIAGNOSTIC_TREE_IDS),
  uid: id('uid').optional(),
  gid: id('gid').optional(),
  path: namespacePath.optional(),
  /** A user name, or an S3 access key id (16–128 characters). */
  user: z.string().min(1).max(128).optional(),
});

export const bundleInput = z.object({ runId: z.string().min(1).max(64).optional() }).default({});

/** Which wizard offered the action: recorded in the audit entry, not acted on. */
const offeredBy = { tree: z.enum(DIAGNOSTIC_TREE_IDS).optional(), runId: z.string().max(64).optional() };

const cacheInvalidate = z.discriminatedUnion('scope', [
  z.object({ action: z.literal('cache.invalidate'), scope: z.literal('all'), ...offeredBy }),
  z.object({
    action: z.literal('cache.invalidate'),
    scope: z.literal('path'),
    path: z.string().startsWith('/', 'path must be an absolute namespace path (/export/…)').max(4096),
    ...offeredBy,
  }),
  z.object({ action: z.literal('cache.invalidate'), scope: z.literal('uid'), uid: id('uid'), ...offeredBy }),
]);

export const remediateInput = z.discriminatedUnion('action', [
  z.object({ action: z.literal('drain'), ...offeredBy }),
  z.object({ action: z.literal('undrain'), ...offeredBy }),
  cacheInvalidate,
  z.object({ action: z.literal('circuit.reset'), backend: z.enum(['metadata', 'transport']), ...offeredBy }),
  z.object({
    action: z.literal('quota.set'),
    kind: z.enum(['uid', 'gid']),
    /** The uid or gid (`kind` says which). */
    id: z
      .number({ error: 'id must be a number' })
      .int('id must be a whole number')
      .min(0, 'id must be 0 or more')
      .max(2 ** 31 - 2, `id must be at most ${2 ** 31 - 2}`),
    soft: sizeText.nullable().optional(),
    hard: sizeText.nullable().optional(),
    softInodes: inodeCount.nullable().optional(),
    hardInodes: inodeCount.nullable().optional(),
    grace: durationText.nullable().optional(),
    ...offeredBy,
  }),
  z.object({
    action: z.literal('log-level.set'),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    ...offeredBy,
  }),
  z.object({
    action: z.literal('group.add-member'),
    user: accountName('user'),
    group: accountName('group'),
    ...offeredBy,
  }),
]);

/** `cache.invalidate path:/export/a`, `circuit.reset transport`, `quota.set uid=1000`. */
function remediationTarget(i: RawInput): string {
  const action = field(i, 'action');
  const what =
    field(i, 'path') ||
    field(i, 'backend') ||
    (field(i, 'kind') && `${field(i, 'kind')}=${field(i, 'id')}`) ||
    field(i, 'level') ||
    (field(i, 'user') && `${field(i, 'user')}→${field(i, 'group')}`) ||
    (field(i, 'uid') && `uid=${field(i, 'uid')}`) ||
    field(i, 'scope');
  return what ? `${action} ${what}` : action;
}

/**
 * The runbook's troubleshooting trees as wizards. Running one only reads (viewer); a remediation
 * needs the role REMEDIATION_ROLES names for its action, and every one is audited.
 */
export const diagnosticsRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<DiagnosticTreeDef[]> => ctx.control.diagnosticTrees()),
  run: viewerProcedure
    .meta({ audit: { action: 'diagnostics.run', target: (i) => `tree:${field(i, 'tree')}` } })
    .input(runInput)
    .mutation(
      ({ ctx, input }): Promise<DiagnosticRun> =>
        ctx.control.runDiagnostic(input as DiagnosticRequest, ctx.session ? actorOf(ctx.session) : null),
    ),
  bundle: viewerProcedure
    .input(bundleInput)
    .query(({ ctx, input }): Promise<SupportBundle> => ctx.control.diagnosticBundle(input as BundleRequest)),
  remediate: operatorProcedure
    .meta({ audit: { action: 'diagnostics.remediate', target: remediationTarget } })
    .input(remediateInput)
    .mutation(({ ctx, input }): Promise<RemediationResult> => {
      const { tree: _tree, runId: _runId, ...request } = input;
      const needs = REMEDIATION_ROLES[request.action];
      const role = ctx.session?.role ?? 'viewer';
      if (!roleAtLeast(role, needs)) {
        throw new TRPCError({
          code: 'FORBIDDEN',
          message: `${request.action} needs the ${needs} role (you have ${role})`,
        });
      }
      return ctx.control.remediate(request as RemediationRequest);
    }),
});
