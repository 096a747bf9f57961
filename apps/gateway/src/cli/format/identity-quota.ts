import type { UsageView } from '@claudefs/api';
import type { QuotaKind, QuotaRecord } from '../../control/index.ts';
import { type QuotaState, quotaState, subjectLabel, type UsageAmounts } from '../../ops/quota/limits.ts';
import { formatDuration, formatRemaining, formatSize, formatSizeNear } from '../../util/units.ts';
import { alignColumns } from './columns.ts';

/** One quota with the ledger's usage and its state, as `./cfs quota get|list` show it. */
export interface QuotaReport {
  quota: QuotaRecord;
  /** The user or group holding the id, when the control plane has one. */
  name: string | null;
  usage: UsageAmounts;
  state: QuotaState;
  graceMs: number;
  ownGrace: boolean;
  graceRemainingMs: number | null;
}

export function buildReport(
  quota: QuotaRecord,
  usage: UsageAmounts,
  name: string | null,
  now: number,
  defaultGraceMs: number,
): QuotaReport {
  return { quota, name, usage, ...quotaState(quota, usage, now, defaultGraceMs) };
}

/** Usage prints in the unit of the soft limit, else of the hard limit, as the limits were typed. */
function usageUnit(q: QuotaRecord): string | undefined {
  if (q.softBytes !== null) return q.softUnit ?? undefined;
  if (q.hardBytes !== null) return q.hardUnit ?? undefined;
  return undefined;
}

const size = (v: bigint | null, unit: string | null | undefined) =>
  v === null ? '-' : formatSize(v, unit ?? undefined);
/** Grace periods read in days as they are set (`7d`, not formatDuration's `1w`). */
export function graceDuration(ms: number): string {
  return ms > 0 && ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : formatDuration(ms);
}

const count = (v: bigint | null) => (v === null ? '-' : String(v));

export function stateText(r: QuotaReport): string {
  if (r.state === 'in grace' && r.graceRemainingMs !== null) {
    return `in grace (${formatRemaining(r.graceRemainingMs)} left)`;
  }
  if (r.state === 'over soft') return 'over soft (grace clock starts when the gateway sees it)';
  return r.state;
}

/** Bytes and counts are decimal strings: exact past 2^53. */
export function reportJson(r: QuotaReport) {
  const q = r.quota;
  const str = (v: bigint | null) => (v === null ? null : String(v));
  return {
    kind: q.kind,
    id: q.subjectId,
    name: r.name,
    bytes: {
      used: String(r.usage.bytes),
      soft: str(q.softBytes),
      hard: str(q.hardBytes),
      softUnit: q.softUnit,
      hardUnit: q.hardUnit,
      usedText: formatSizeNear(r.usage.bytes, usageUnit(q)),
      softText: q.softBytes === null ? null : size(q.softBytes, q.softUnit),
      hardText: q.hardBytes === null ? null : size(q.hardBytes, q.hardUnit),
    },
    inodes: { used: String(r.usage.inodes), soft: str(q.softInodes), hard: str(q.hardInodes) },
    graceMs: r.graceMs,
    graceText: graceDuration(r.graceMs),
    ownGrace: r.ownGrace,
    softExceededAt: q.softExceededAt?.toISOString() ?? null,
    state: r.state,
    graceRemainingMs: r.graceRemainingMs,
  };
}

function graceText(r: QuotaReport): string {
  return `${graceDuration(r.graceMs)}${r.ownGrace ? '' : ' (default: quota.grace_period)'}`;
}

function heading(kind: QuotaKind, id: number, name: string | null): string {
  return `${subjectLabel(kind, id)}${name === null ? '' : ` (${name})`}`;
}

/** `./cfs quota get`: one subject, labelled lines. */
export function reportText(r: QuotaReport): string {
  const q = r.quota;
  const rows = [
    ['  state', stateText(r)],
    [
      '  bytes',
      `used ${formatSizeNear(r.usage.bytes, usageUnit(q))}, soft ${size(q.softBytes, q.softUnit)}, hard ${size(q.hardBytes, q.hardUnit)}`,
    ],
    ['  inodes', `used ${r.usage.inodes}, soft ${count(q.softInodes)}, hard ${count(q.hardInodes)}`],
    ['  grace', graceText(r)],
  ];
  // The record keeps the moment until a write sees the usage back under soft: once the usage
  // (or a raised limit) says ok, it is history, not state.
  if (q.softExceededAt !== null && r.state !== 'ok')
    rows.push(['  over soft since', q.softExceededAt.toISOString()]);
  return `${[heading(q.kind, q.subjectId, r.name), ...alignColumns(rows, ['left', 'left'])].join('\n')}\n`;
}

/** `./cfs quota list`: one row per quota. */
export function reportTable(reports: readonly QuotaReport[]): string {
  if (reports.length === 0) return 'no quotas set\n';
  const header = ['SUBJECT', 'NAME', 'USED', 'SOFT', 'HARD', 'INODES', 'ISOFT', 'IHARD', 'GRACE', 'STATE'];
  const rows = reports.map((r) => {
    const q = r.quota;
    return [
      subjectLabel(q.kind, q.subjectId),
      r.name ?? '-',
      formatSizeNear(r.usage.bytes, usageUnit(q)),
      size(q.softBytes, q.softUnit),
      size(q.hardBytes, q.hardUnit),
      String(r.usage.inodes),
      count(q.softInodes),
      count(q.hardInodes),
      graceDuration(r.graceMs),
      stateText(r),
    ];
  });
  const align = [
    'left',
    'left',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
    'left',
  ] as const;
  return `${alignColumns([header, ...rows], align).join('\n')}\n`;
}

/** One subject holding space, with its quota's report when it has a quota (`./cfs quota report`). */
export interface UsageRow {
  kind: QuotaKind;
  id: number;
  name: string | null;
  usage: UsageAmounts;
  report: QuotaReport | undefined;
}

/**
 * The rows of a usage report: every subject of `kind` holding space (`held`, the ledger) or a
 * quota (`reports`), most space first, ties by id.
 */
export function usageRows(
  kind: QuotaKind,
  reports: readonly QuotaReport[],
  held: readonly { kind: QuotaKind; id: number; bytes: bigint; inodes: bigint }[],
  nameOf: (id: number) => string | null,
): UsageRow[] {
  const byId = new Map(reports.map((r) => [r.quota.subjectId, r]));
  const usage = new Map(
    held
      .filter((u) => u.kind === kind && u.bytes + u.inodes > 0n)
      .map((u) => [u.id, { bytes: u.bytes, inodes: u.inodes }]),
  );
  const rows = [...new Set([...usage.keys(), ...byId.keys()])].map((id) => ({
    kind,
    id,
    name: nameOf(id),
    usage: byId.get(id)?.usage ?? usage.get(id) ?? { bytes: 0n, inodes: 0n },
    report: byId.get(id),
  }));
  return rows.sort((a, b) =>
    a.usage.bytes === b.usage.bytes ? a.id - b.id : a.usage.bytes > b.usage.bytes ? -1 : 1,
  );
}

export function usageRowJson(r: UsageRow): UsageView {
  return {
    kind: r.kind,
    id: r.id,
    name: r.name,
    used: {
      bytes: String(r.usage.bytes),
      inodes: String(r.usage.inodes),
      text: formatSizeNear(r.usage.bytes),
    },
    quota: r.report ? reportJson(r.report) : null,
  };
}

/** `./cfs quota report`: every subject holding space, largest first, like repquota. */
export function usageTable(rows: readonly UsageRow[], kind: QuotaKind): string {
  if (rows.length === 0) return `no ${kind === 'uid' ? 'user' : 'group'} holds anything\n`;
  const header = ['SUBJECT', 'NAME', 'USED', 'INODES', 'SOFT', 'HARD', 'ISOFT', 'IHARD', 'STATE'];
  const lines = rows.map((r) => {
    const q = r.report?.quota;
    return [
      subjectLabel(r.kind, r.id),
      r.name ?? '-',
      formatSizeNear(r.usage.bytes, q ? usageUnit(q) : undefined),
      String(r.usage.inodes),
      q ? size(q.softBytes, q.softUnit) : '-',
      q ? size(q.hardBytes, q.hardUnit) : '-',
      q ? count(q.softInodes) : '-',
      q ? count(q.hardInodes) : '-',
      r.report ? stateText(r.report) : 'no quota',
    ];
  });
  const align = ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'] as const;
  return `${alignColumns([header, ...lines], align).join('\n')}\n`;
}
