import type { QuotaDimensionExplanation, QuotaExplanation, QuotaSubjectExplanation } from '@claudefs/api';
import { graceDuration } from '../../cli/format/identity-quota.ts';
import type { QuotaKind, QuotaRecord } from '../../control/index.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { formatRemaining, formatSizeNear } from '../../util/units.ts';
import { quotaEnforcer } from '../quota/feature.ts';
import {
  type Dimension,
  graceExpired,
  graceMsOf,
  refusalFor,
  subjectLabel,
  type UsageAmounts,
} from '../quota/limits.ts';
import { quotaView, subjectNames } from './quota-control.ts';

const UNIT_WORD: Record<Dimension, string> = { bytes: 'byte', inodes: 'inode' };

/**
 * One dimension of one quota, decided by the enforcing gate's own function (`refusalFor`) for a
 * change that adds one byte or one inode, and put into words with the numbers it compared.
 */
export function explainDimension(
  q: QuotaRecord,
  usage: UsageAmounts,
  dimension: Dimension,
  now: number,
  defaultGraceMs: number,
): QuotaDimensionExplanation {
  const bytes = dimension === 'bytes';
  const used = bytes ? usage.bytes : usage.inodes;
  const soft = bytes ? q.softBytes : q.softInodes;
  const hard = bytes ? q.hardBytes : q.hardInodes;
  const show = (v: bigint, unit: string | null) =>
    bytes ? formatSizeNear(v, unit ?? q.softUnit ?? q.hardUnit ?? undefined) : String(v);
  // Usage is shown in the unit of the limit it is compared with.
  const uSoft = show(used, q.softUnit);
  const uHard = show(used, q.hardUnit);
  const s = soft === null ? '' : show(soft, q.softUnit);
  const h = hard === null ? '' : show(hard, q.hardUnit);
  const refusal = refusalFor(q, usage, bytes ? 1n : 0n, bytes ? 0n : 1n, now, defaultGraceMs);
  const expired = graceExpired(q, now, defaultGraceMs);
  const acting = [hard, expired ? soft : null].filter((v): v is bigint => v !== null);
  // Bigints: Math.min does not take them.
  let headroom: bigint | null = null;
  for (const limit of acting) {
    const left = limit > used ? limit - used : 0n;
    if (headroom === null || left < headroom) headroom = left;
  }
  const more = headroom === null ? '' : `${show(headroom, null)} more can be added`;
  const graceMs = graceMsOf(q, defaultGraceMs);
  const adds = `a change that adds ${bytes ? 'bytes' : 'files or directories'}`;

  let arithmetic: string;
  if (soft === null && hard === null) {
    arithmetic = `no ${UNIT_WORD[dimension]} limit`;
  } else if (refusal?.limitKind === 'hard') {
    arithmetic = `usage ${uHard} + 1 ${UNIT_WORD[dimension]} > hard ${h}: ${adds} is refused (EDQUOT) until usage drops below ${h}`;
  } else if (refusal?.limitKind === 'soft') {
    const since = q.softExceededAt?.toISOString() ?? '?';
    const ended = q.softExceededAt ? new Date(q.softExceededAt.getTime() + graceMs).toISOString() : '?';
    arithmetic =
      `usage ${uSoft} + 1 ${UNIT_WORD[dimension]} > soft ${s}, over soft since ${since} and the grace period ` +
      `(${graceDuration(graceMs)}) ended at ${ended}: the soft limit now refuses growth like a hard one, ` +
      `so ${adds} is refused (EDQUOT) until usage is back to ${s} or less`;
  } else if (soft !== null && used > soft) {
    const hardPart =
      hard === null ? 'no hard limit' : `hard ${h} leaves ${more.replace(' can be added', '')}`;
    if (q.softExceededAt === null) {
      arithmetic = `usage ${uSoft} > soft ${s}: the grace clock (${graceDuration(graceMs)}) starts at the gateway's next check; ${hardPart}`;
    } else {
      const left = q.softExceededAt.getTime() + graceMs - now;
      arithmetic =
        `usage ${uSoft} > soft ${s}: in grace, ${formatRemaining(left)} left ` +
        `(until ${new Date(q.softExceededAt.getTime() + graceMs).toISOString()}), then growth is refused; ${hardPart}`;
    }
  } else {
    const parts = [soft === null ? null : `soft ${s}`, hard === null ? null : `hard ${h}`].filter(Boolean);
    arithmetic = `usage ${soft === null ? uHard : uSoft} ≤ ${parts.join(', ')}${more === '' ? '' : `: ${more}`}`;
  }
  return {
    blocked: refusal !== undefined,
    limitKind: refusal?.limitKind ?? null,
    used: String(used),
    soft: soft === null ? null : String(soft),
    hard: hard === null ? null : String(hard),
    headroom: headroom === null ? null : String(headroom),
    arithmetic,
  };
}

function unlimited(dimension: Dimension, used: bigint, label: string): QuotaDimensionExplanation {
  return {
    blocked: false,
    limitKind: null,
    used: String(used),
    soft: null,
    hard: null,
    headroom: null,
    arithmetic: `no ${UNIT_WORD[dimension]} quota on ${label}`,
  };
}

async function explainSubject(
  gw: Gateway,
  kind: QuotaKind,
  id: number,
  nameOf: (kind: QuotaKind, id: number) => string | null,
  now: number,
): Promise<QuotaSubjectExplanation> {
  // The enforcer's table is what refused the write; the database may be a poll ahead of it.
  const q = quotaEnforcer(gw)?.quota(kind, id) ?? (await gw.control.quotas.get(kind, id));
  const usage = await gw.ns.quotaUsage(kind, id);
  const name = nameOf(kind, id);
  const label = subjectLabel(kind, id);
  if (!q) {
    return {
      kind,
      id,
      name,
      quota: null,
      bytes: unlimited('bytes', usage.bytes, label),
      inodes: unlimited('inodes', usage.inodes, label),
    };
  }
  const grace = gw.config.quota.gracePeriodMs;
  return {
    kind,
    id,
    name,
    quota: await quotaView(gw, q, nameOf),
    bytes: explainDimension(q, usage, 'bytes', now, grace),
    inodes: explainDimension(q, usage, 'inodes', now, grace),
  };
}

const labelled = (s: QuotaSubjectExplanation) =>
  `${subjectLabel(s.kind, s.id)}${s.name === null ? '' : ` (${s.name})`}`;

/**
 * "Why was I blocked?" Every write is charged to the file owner's uid and gid (the namespace
 * ledger), so a uid is explained together with its account's primary gid unless a gid is given.
 */
export async function explainQuota(
  gw: Gateway,
  subject: { uid?: number; gid?: number },
): Promise<QuotaExplanation> {
  const account = subject.uid === undefined ? null : await gw.control.users.get(subject.uid);
  const uid = subject.uid ?? null;
  const gid = subject.gid ?? account?.gid ?? null;
  const nameOf = await subjectNames(gw);
  const now = Date.now();
  const subjects: QuotaSubjectExplanation[] = [];
  if (uid !== null) subjects.push(await explainSubject(gw, 'uid', uid, nameOf, now));
  if (gid !== null) subjects.push(await explainSubject(gw, 'gid', gid, nameOf, now));

  const blockers = subjects.flatMap((s) =>
    (['bytes', 'inodes'] as const)
      .filter((d) => s[d].blocked)
      .map((d) => `${labelled(s)}: ${s[d].arithmetic}`),
  );
  const who = subjects.map(labelled).join(' and ');
  let summary: string;
  if (blockers.length > 0) summary = `Writes are refused. ${blockers.join('. ')}.`;
  else if (subjects.every((s) => s.quota === null))
    summary = `No quota is set for ${who}: nothing refuses a write.`;
  else summary = `Nothing refuses a write by ${who} now.`;
  return { uid, gid, user: account?.name ?? null, blocked: blockers.length > 0, subjects, summary };
}
