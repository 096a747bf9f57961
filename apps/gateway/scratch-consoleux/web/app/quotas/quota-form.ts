import type { QuotaKind, QuotaView } from '@claudefs/api';
import { durationProblem, parseSize } from '../../lib/size.ts';

/** The quota form as typed: every field text, empty meaning "no limit". */
export interface QuotaDraft {
  kind: QuotaKind;
  id: string;
  soft: string;
  hard: string;
  softInodes: string;
  hardInodes: string;
  grace: string;
}

export type QuotaProblems = Partial<Record<keyof QuotaDraft, string>>;

export const EMPTY_DRAFT: QuotaDraft = {
  kind: 'uid',
  id: '',
  soft: '',
  hard: '',
  softInodes: '',
  hardInodes: '',
  grace: '',
};

/** `/quotas?kind=uid&id=1000&soft=20KB&hard=20MB` (a wizard's "edit quota"), as a partial draft. */
export function draftFromParams(params: URLSearchParams): Partial<QuotaDraft> | null {
  const kind = params.get('kind');
  const id = params.get('id');
  if ((kind !== 'uid' && kind !== 'gid') || !id) return null;
  const draft: Partial<QuotaDraft> = { kind, id };
  for (const k of ['soft', 'hard', 'softInodes', 'hardInodes', 'grace'] as const) {
    const v = params.get(k);
    if (v) draft[k] = v;
  }
  return draft;
}

export function draftOf(q: QuotaView): QuotaDraft {
  return {
    kind: q.kind,
    id: String(q.id),
    soft: q.bytes.softText ?? '',
    hard: q.bytes.hardText ?? '',
    softInodes: q.inodes.soft ?? '',
    hardInodes: q.inodes.hard ?? '',
    grace: q.ownGrace ? q.graceText : '',
  };
}

function count(text: string): number | string {
  if (!/^\d+$/.test(text.trim())) return 'an inode limit is a whole number of files';
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : 'too large';
}

/** Problems by field (empty when the form may be sent), checked like the API checks them. */
export function quotaProblems(d: QuotaDraft, editing: boolean): QuotaProblems {
  const p: QuotaProblems = {};
  const id = d.id.trim();
  if (!/^\d+$/.test(id) || Number(id) > 2 ** 31 - 2)
    p.id = `${d.kind} must be a whole number from 0 to ${2 ** 31 - 2}`;
  const soft = d.soft.trim() ? parseSize(d.soft) : null;
  const hard = d.hard.trim() ? parseSize(d.hard) : null;
  if (typeof soft === 'string') p.soft = soft;
  if (typeof hard === 'string') p.hard = hard;
  if (typeof soft === 'bigint' && typeof hard === 'bigint' && soft > hard) {
    p.soft = `soft limit ${d.soft.trim()} is above hard limit ${d.hard.trim()}: soft must not exceed hard`;
  }
  const si = d.softInodes.trim() ? count(d.softInodes) : null;
  const hi = d.hardInodes.trim() ? count(d.hardInodes) : null;
  if (typeof si === 'string') p.softInodes = si;
  if (typeof hi === 'string') p.hardInodes = hi;
  if (typeof si === 'number' && typeof hi === 'number' && si > hi)
    p.softInodes = 'soft inode limit is above the hard one';
  if (d.grace.trim()) {
    const g = durationProblem(d.grace);
    if (g) p.grace = g;
  }
  if (!editing && !d.soft.trim() && !d.hard.trim() && !d.softInodes.trim() && !d.hardInodes.trim()) {
    p.hard = 'set at least one limit';
  }
  return p;
}

/** The `quotas.set` input: on edit, a cleared field removes that limit (null). */
export function quotaRequest(d: QuotaDraft, editing: boolean) {
  const text = (v: string) => (v.trim() ? v.trim() : editing ? null : undefined);
  const num = (v: string) => (v.trim() ? Number(v.trim()) : editing ? null : undefined);
  const subject = d.kind === 'uid' ? { uid: Number(d.id.trim()) } : { gid: Number(d.id.trim()) };
  return {
    ...subject,
    soft: text(d.soft),
    hard: text(d.hard),
    softInodes: num(d.softInodes),
    hardInodes: num(d.hardInodes),
    grace: text(d.grace),
  };
}
