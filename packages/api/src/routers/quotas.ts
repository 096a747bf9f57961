import { z } from 'zod';
import { durationText, id, inodeCount, sizeBytes, sizeText } from '../schemas.ts';
import { adminProcedure, field, type RawInput, router, viewerProcedure } from '../trpc.ts';
import type { QuotaExplanation, QuotaKind, QuotaSetRequest, QuotaView, UsageView } from '../types/quotas.ts';

/** `{uid}` or `{gid}`: whose quota. A uid or gid need not belong to an account. */
const subjectFields = { uid: id('uid').optional(), gid: id('gid').optional() };

function exactlyOneSubject(v: { uid?: number; gid?: number }, ctx: z.RefinementCtx): void {
  if ((v.uid === undefined) === (v.gid === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give exactly one of uid or gid', path: ['uid'] });
  }
}

function subjectOf(v: { uid?: number; gid?: number }): { kind: QuotaKind; id: number } {
  return v.uid !== undefined ? { kind: 'uid', id: v.uid } : { kind: 'gid', id: v.gid ?? 0 };
}

/** `uid=1000` / `gid=1500`, as the runbook's log lines and the CLI's audit entries name a subject. */
const subjectTarget = (i: RawInput) =>
  i.uid !== undefined ? `uid=${field(i, 'uid')}` : `gid=${field(i, 'gid')}`;

export const subjectInput = z.object(subjectFields).superRefine(exactlyOneSubject).transform(subjectOf);

const LIMITS = ['soft', 'hard', 'softInodes', 'hardInodes', 'grace'] as const;

/**
 * Only the fields given change; null removes a limit (grace: back to quota.grace_period).
 * Soft above hard is refused here when both are given; against a stored limit the gateway
 * refuses it.
 */
export const quotaSetInput = z
  .object({
    ...subjectFields,
    soft: sizeText.nullable().optional(),
    hard: sizeText.nullable().optional(),
    softInodes: inodeCount.nullable().optional(),
    hardInodes: inodeCount.nullable().optional(),
    grace: durationText.nullable().optional(),
  })
  .superRefine((v, ctx) => {
    exactlyOneSubject(v, ctx);
    if (LIMITS.every((k) => v[k] === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'nothing to set: give soft, hard, softInodes, hardInodes or grace',
      });
    }
    if (typeof v.soft === 'string' && typeof v.hard === 'string') {
      const soft = sizeBytes(v.soft);
      const hard = sizeBytes(v.hard);
      if (typeof soft === 'bigint' && typeof hard === 'bigint' && soft > hard) {
        ctx.addIssue({
          code: 'custom',
          path: ['soft'],
          message: `soft limit ${v.soft} is above hard limit ${v.hard}: a soft limit must not exceed its hard limit`,
        });
      }
    }
    if (typeof v.softInodes === 'number' && typeof v.hardInodes === 'number' && v.softInodes > v.hardInodes) {
      ctx.addIssue({
        code: 'custom',
        path: ['softInodes'],
        message: `soft inode limit ${v.softInodes} is above hard inode limit ${v.hardInodes}`,
      });
    }
  })
  .transform((v): QuotaSetRequest => {
    const request: QuotaSetRequest = subjectOf(v);
    for (const k of LIMITS) if (v[k] !== undefined) Object.assign(request, { [k]: v[k] });
    return request;
  });

export const explainInput = z
  .object(subjectFields)
  .refine((v) => v.uid !== undefined || v.gid !== undefined, { message: 'give a uid, a gid or both' });

const limitsDetail = (i: RawInput) => Object.fromEntries(LIMITS.filter((k) => k in i).map((k) => [k, i[k]]));

/** Per-uid and per-gid quotas: soft and hard limits on bytes and inodes, with a grace period. */
export const quotasRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<QuotaView[]> => ctx.control.listQuotas()),
  get: viewerProcedure
    .input(subjectInput)
    .query(({ ctx, input }): Promise<QuotaView | null> => ctx.control.getQuota(input.kind, input.id)),
  set: adminProcedure
    .meta({ audit: { action: 'quota.set', target: subjectTarget, detail: limitsDetail } })
    .input(quotaSetInput)
    .mutation(({ ctx, input }): Promise<QuotaView> => ctx.control.setQuota(input)),
  remove: adminProcedure
    .meta({ audit: { action: 'quota.remove', target: subjectTarget, detail: () => undefined } })
    .input(subjectInput)
    .mutation(async ({ ctx, input }): Promise<{ removed: { kind: QuotaKind; id: number } }> => {
      await ctx.control.removeQuota(input.kind, input.id);
      return { removed: input };
    }),
  /** Who uses the space: every uid (or gid) owning anything or holding a quota, most first. */
  usage: viewerProcedure
    .input(z.object({ kind: z.enum(['uid', 'gid']) }))
    .query(({ ctx, input }): Promise<UsageView[]> => ctx.control.quotaUsage(input.kind)),
  /** "Why was I blocked?": a uid (its primary gid is added) and/or gid in, the arithmetic out. */
  explain: viewerProcedure
    .input(explainInput)
    .query(({ ctx, input }): Promise<QuotaExplanation> => ctx.control.explainQuota(input)),
});
