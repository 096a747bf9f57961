import type { QuotaKind, QuotaRecord } from '../../../control/index.ts';
import { formatRemaining, formatSize } from '../../../util/units.ts';
import type { QuotaRefusal } from '../../quota/enforcer.ts';
import { quotaEnforcer } from '../../quota/feature.ts';
import { QUOTA_STATES, type QuotaState, quotaState, subjectLabel } from '../../quota/limits.ts';
import { offer } from '../actions.ts';
import type { Measured, OfferedAction, RemediationRequest } from '../api.ts';
import type { DiagnosisContext, DiagnosticTree } from '../engine.ts';
import { commands, manual, RUNBOOK } from './common.ts';

interface SubjectState {
  kind: QuotaKind;
  id: number;
  quota: QuotaRecord | undefined;
  bytes: bigint;
  inodes: bigint;
  state: QuotaState | 'no quota';
  graceMs: number;
  graceRemainingMs: number | null;
}

function subjects(ctx: DiagnosisContext): Array<[QuotaKind, number]> {
  const out: Array<[QuotaKind, number]> = [];
  if (ctx.request.uid !== undefined) out.push(['uid', ctx.request.uid]);
  if (ctx.request.gid !== undefined) out.push(['gid', ctx.request.gid]);
  return out;
}

/** The enforcer's view (what refuses writes), with committed usage and the state it implies. */
const states = (ctx: DiagnosisContext) =>
  ctx.memo('quota-states', async () => {
    const { gw } = ctx;
    const now = Date.now();
    const grace = gw.config.quota.gracePeriodMs;
    return Promise.all(
      subjects(ctx).map(async ([kind, id]): Promise<SubjectState> => {
        const quota =
          quotaEnforcer(gw)?.quota(kind, id) ?? (await gw.control.quotas.get(kind, id)) ?? undefined;
        const usage = await gw.ns.quotaUsage(kind, id);
        if (!quota) {
          return {
            kind,
            id,
            quota,
            bytes: usage.bytes,
            inodes: usage.inodes,
            state: 'no quota',
            graceMs: grace,
            graceRemainingMs: null,
          };
        }
        const s = quotaState(quota, usage, now, grace);
        return {
          kind,
          id,
          quota,
          bytes: usage.bytes,
          inodes: usage.inodes,
          state: s.state,
          graceMs: s.graceMs,
          graceRemainingMs: s.graceRemainingMs,
        };
      }),
    );
  });

const size = (v: bigint | null, unit: string | null) =>
  v === null ? 'none' : formatSize(v, unit ?? undefined);

function describe(s: SubjectState): string {
  const q = s.quota;
  if (!q) return `${subjectLabel(s.kind, s.id)}: no quota (usage ${formatSize(s.bytes)}, ${s.inodes} inodes)`;
  const unit = q.softUnit ?? q.hardUnit;
  const bytes = `usage=${size(s.bytes, unit)} soft=${size(q.softBytes, q.softUnit)} hard=${size(q.hardBytes, q.hardUnit)}`;
  const inodes =
    q.softInodes !== null || q.hardInodes !== null
      ? `, inodes=${s.inodes} soft=${q.softInodes ?? 'none'} hard=${q.hardInodes ?? 'none'}`
      : '';
  const grace =
    s.graceRemainingMs === null
      ? ''
      : s.graceRemainingMs > 0
        ? `, grace ${formatRemaining(s.graceRemainingMs)} left`
        : ', grace period over';
  return `${subjectLabel(s.kind, s.id)}: ${bytes}${inodes} → ${s.state}${grace}`;
}

function measuredOf(s: SubjectState): Measured {
  const q = s.quota;
  return {
    subject: subjectLabel(s.kind, s.id),
    state: s.state,
    usedBytes: String(s.bytes),
    usedInodes: String(s.inodes),
    softBytes: q?.softBytes == null ? null : String(q.softBytes),
    hardBytes: q?.hardBytes == null ? null : String(q.hardBytes),
    softInodes: q?.softInodes == null ? null : String(q.softInodes),
    hardInodes: q?.hardInodes == null ? null : String(q.hardInodes),
    softExceededAt: q?.softExceededAt ? q.softExceededAt.toISOString() : null,
    graceMs: s.graceMs,
    graceRemainingMs: s.graceRemainingMs,
  };
}

const RANK = new Map<string, number>([
  ['no quota', -1],
  ...QUOTA_STATES.map((s, i) => [s, i] as [string, number]),
]);

function worst(all: SubjectState[]): SubjectState | undefined {
  return all.reduce<SubjectState | undefined>(
    (w, s) => (!w || (RANK.get(s.state) ?? 0) > (RANK.get(w.state) ?? 0) ? s : w),
    undefined,
  );
}

/** quota.set prefilled with doubled limits in the units they were set in; the operator edits them. */
function raiseQuota(ctx: DiagnosisContext, s: SubjectState): OfferedAction {
  const q = s.quota!;
  const twice = (v: bigint | null, unit: string | null) =>
    v === null ? undefined : formatSize(2n * v, unit ?? undefined);
  const soft = twice(q.softBytes, q.softUnit);
  const hard = twice(q.hardBytes, q.hardUnit);
  const request: RemediationRequest = {
    action: 'quota.set',
    kind: s.kind,
    id: s.id,
    ...(soft ? { soft } : {}),
    ...(hard ? { hard } : {}),
  };
  return offer(
    ctx.gw,
    request,
    `Edit the quota of ${subjectLabel(s.kind, s.id)}`,
    `Set ${subjectLabel(s.kind, s.id)}'s limits to soft ${soft ?? 'unchanged'}, hard ${hard ?? 'unchanged'}? Writes are checked against them from the next one on.`,
    ['soft', 'hard', 'softInodes', 'hardInodes', 'grace'],
  );
}

/** `usage 2KB + 20KB written > hard 10KB` (or inodes). */
function refusedText(r: QuotaRefusal): string {
  const amount = (v: bigint) =>
    r.dimension === 'bytes' ? formatSize(v, r.unit ?? undefined) : `${v} inodes`;
  return `usage ${amount(r.used)} + ${amount(r.asked)} asked > ${r.limitKind} ${amount(r.limit)}`;
}

function logLineFor(kind: 'soft' | 'hard', s: SubjectState): (msg: string) => boolean {
  const prefix = kind === 'soft' ? 'WARN: Soft quota exceeded for ' : 'ERROR: Hard quota exceeded for ';
  return (msg) => msg.startsWith(`${prefix}${subjectLabel(s.kind, s.id)} (`);
}

export const quotaTree: DiagnosticTree = {
  id: 'quota',
  title: 'Quota enforcement',
  runbook: { section: RUNBOOK.quota },
  summary:
    'Usage against the soft and hard limits of a uid or gid, the grace clock, whether the runbook’s log lines were written, and the quota edit.',
  inputs: [
    { name: 'uid', required: false, help: 'the user id whose writes are refused or warned about' },
    { name: 'gid', required: false, help: 'a group id (group quotas)' },
  ],
  inputRule: 'give --uid or --gid (or both)',
  checkRequest: (r) =>
    r.uid === undefined && r.gid === undefined
      ? 'the quota wizard needs a uid or a gid (--uid N / --gid N)'
      : undefined,
  start: 'subject',
  steps: [
    {
      id: 'subject',
      title: 'Is there a quota?',
      kind: 'check',
      runbook: { section: RUNBOOK.quota },
      description: 'The quota the enforcing gate holds for the subject (the table it refuses writes with).',
      branches: { found: 'usage', none: null },
      async run(ctx) {
        const all = await states(ctx);
        const found = all.filter((s) => s.quota);
        const measured = { subjects: all.map(measuredOf) };
        if (found.length === 0) {
          const line = all.map(describe).join('; ');
          return {
            outcome: 'none',
            verdict: 'pass',
            summary: line,
            because: 'no quota is set, so no quota refuses or warns',
            measured,
            evidence: all.map(describe),
            conclusion: `${all.map((s) => subjectLabel(s.kind, s.id)).join(' and ')} has no quota: writes are not limited by quota (an EDQUOT would come from the group's quota, or the error is not a quota one)`,
          };
        }
        return {
          outcome: 'found',
          verdict: 'pass',
          summary: found.map((s) => `${subjectLabel(s.kind, s.id)} has a quota`).join('; '),
          because: 'a quota is in force',
          measured,
          evidence: all.map(describe),
        };
      },
    },
    {
      id: 'usage',
      title: 'Usage against soft and hard',
      kind: 'check',
      runbook: {
        section: RUNBOOK.quota,
        quote: 'WARN: Soft quota exceeded … / ERROR: Hard quota exceeded …',
      },
      description:
        'Committed usage against the limits, and the grace clock: over soft starts it; once it runs out the soft limit refuses growth like the hard one.',
      branches: {
        ok: null,
        'over soft': 'soft-exceeded',
        'in grace': 'soft-exceeded',
        'grace expired': 'hard-exceeded',
        'over hard': 'hard-exceeded',
      },
      async run(ctx) {
        const all = (await states(ctx)).filter((s) => s.quota);
        const w = worst(all)!;
        const evidence = all.map(describe);
        const measured = { subjects: all.map(measuredOf), worst: subjectLabel(w.kind, w.id) };
        const line = describe(w);
        // Usage below the hard limit, yet a write was refused by it since the limits were last
        // set: the write itself would have gone past (usage + its size > hard). Not "writes
        // still succeed". (One refused under earlier limits says nothing of these.)
        const refused =
          w.state === 'over hard' || w.state === 'grace expired'
            ? undefined
            : quotaEnforcer(ctx.gw)?.lastRefusal(w.kind, w.id);
        if (refused && refused.at >= (w.quota?.updatedAt.getTime() ?? 0))
          return {
            outcome: 'over hard',
            verdict: 'fail',
            summary: line,
            because: `a write was refused at the hard limit at ${new Date(refused.at).toISOString()}: ${refusedText(refused)}`,
            measured,
            evidence,
            finding: `${subjectLabel(w.kind, w.id)} was refused a write that would pass its hard limit (${refusedText(refused)}): ${line.split(': ')[1]}`,
          };
        switch (w.state) {
          case 'ok':
            return {
              outcome: 'ok',
              verdict: 'pass',
              summary: line,
              because: 'usage is within the soft limit',
              measured,
              evidence,
              conclusion: `within quota: ${evidence.join('; ')}`,
            };
          case 'over soft':
          case 'in grace':
            return {
              outcome: w.state,
              verdict: 'warn',
              summary: line,
              because:
                w.state === 'in grace'
                  ? `usage > soft and the grace clock runs: ${formatRemaining(w.graceRemainingMs ?? 0)} left`
                  : 'usage > soft; the grace clock starts at the gateway’s next check',
              measured,
              evidence,
              finding: `${subjectLabel(w.kind, w.id)} is over its soft limit (${line.split(': ')[1]}): writes still succeed${w.graceRemainingMs ? ` for ${formatRemaining(w.graceRemainingMs)}` : ''}`,
            };
          default:
            return {
              outcome: w.state,
              verdict: 'fail',
              summary: line,
              because:
                w.state === 'over hard'
                  ? 'usage has reached the hard limit: growth is refused (EDQUOT)'
                  : 'the grace period is over: the soft limit now refuses growth (EDQUOT)',
              measured,
              evidence,
              finding: `${subjectLabel(w.kind, w.id)} is refused more space (${w.state}): ${line.split(': ')[1]}`,
            };
        }
      },
    },
    {
      id: 'soft-exceeded',
      title: 'Soft limit exceeded',
      kind: 'action',
      runbook: {
        section: RUNBOOK.quotaSoft,
        quote:
          'This is informational. To change limits: ./cfs quota set-user --uid 1000 --soft 20GB --hard 25GB',
      },
      description: 'Informational while the grace clock runs; raise the limits if the usage is expected.',
      branches: { done: 'log-lines' },
      commands: commands(['./cfs quota set-user --uid 1000 --soft 20GB --hard 25GB']),
      async run(ctx) {
        const w = worst((await states(ctx)).filter((s) => s.quota))!;
        const action = raiseQuota(ctx, w);
        return manual(
          'informational: writes succeed until the grace period ends; raise the limits if this usage is expected',
          commands([action.cli], [`./cfs quota get --${w.kind} ${w.id}`]),
          { actions: [action] },
        );
      },
    },
    {
      id: 'hard-exceeded',
      title: 'Hard limit enforcement',
      kind: 'action',
      runbook: {
        section: RUNBOOK.quotaHard,
        quote:
          'Options: 1. Delete data to free space 2. Request quota increase from admin 3. Enable grace period (if configured)',
      },
      description: 'Free space, or raise the limits (admin), or give a grace period.',
      branches: { done: 'log-lines' },
      async run(ctx) {
        const w = worst((await states(ctx)).filter((s) => s.quota))!;
        const action = raiseQuota(ctx, w);
        return manual(
          `1. delete data owned by ${subjectLabel(w.kind, w.id)}; 2. raise the quota (admin); 3. a longer grace period lets usage stay over soft`,
          commands(
            [
              action.cli,
              `./cfs quota set-${w.kind === 'uid' ? 'user' : 'group'} --${w.kind} ${w.id} --grace 7d`,
            ],
            [`./cfs quota get --${w.kind} ${w.id}`],
          ),
          { actions: [action] },
        );
      },
    },
    {
      id: 'log-lines',
      title: 'The runbook’s log lines',
      kind: 'check',
      runbook: { section: RUNBOOK.quota, quote: 'WARN: Soft quota exceeded for uid=1000 (usage=10GB/10GB)' },
      description:
        'Whether the gateway wrote the soft (WARN) or hard (ERROR) line for this subject since the diagnostics started watching its log.',
      branches: { seen: null, 'not seen': null },
      async run(ctx) {
        const w = worst((await states(ctx)).filter((s) => s.quota))!;
        const hard = w.state === 'over hard' || w.state === 'grace expired';
        const soft = ctx.logs.find(logLineFor('soft', w));
        const hardLines = ctx.logs.find(logLineFor('hard', w));
        const seen = [...soft, ...hardLines].sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
        const level = ctx.gw.log.level;
        const measured = {
          level,
          watchingSince: new Date(ctx.logs.since).toISOString(),
          soft: soft.map((l) => ({ time: l.time, msg: l.msg })),
          hard: hardLines.map((l) => ({ time: l.time, msg: l.msg })),
        };
        const evidence = seen.map((l) => `${l.time ? new Date(l.time).toISOString() : '?'} ${l.msg}`);
        if (seen.length > 0) {
          return {
            outcome: 'seen',
            verdict: 'info',
            summary: `logged: ${seen.at(-1)!.msg}`,
            because: `${seen.length} matching line(s) in the gateway's recent log`,
            measured,
            evidence,
          };
        }
        const wanted = hard ? 'error' : 'warn';
        const why = !ctx.gw.log.isLevelEnabled(wanted)
          ? `the log level is ${level}: ${wanted.toUpperCase()} lines are not written (./cfs gateway log-level ${wanted === 'warn' ? 'info' : 'warn'})`
          : w.quota?.softExceededAt && w.quota.softExceededAt.getTime() < ctx.logs.since
            ? `the limit was passed at ${w.quota.softExceededAt.toISOString()}, before the log was watched (${new Date(ctx.logs.since).toISOString()})`
            : hard
              ? 'no write has been refused since the log was watched'
              : 'the line is written when a write (or the gateway’s check) first finds usage over soft';
        return {
          outcome: 'not seen',
          verdict: 'info',
          summary: `no ${hard ? 'hard' : 'soft'} quota line for ${subjectLabel(w.kind, w.id)} in the recent log: ${why}`,
          because: why,
          measured,
          evidence,
        };
      },
    },
  ],
};
