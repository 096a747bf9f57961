import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { invalid, isUniqueViolation, notFound } from './errors.ts';
import { checkId } from './validate.ts';

export type QuotaKind = 'uid' | 'gid';

export interface QuotaRecord {
  kind: QuotaKind;
  /** A uid or gid; it need not belong to an account. */
  subjectId: number;
  softBytes: bigint | null;
  hardBytes: bigint | null;
  softInodes: bigint | null;
  hardInodes: bigint | null;
  /** The units the operator typed (e.g. `GB`), so limits print back as entered. */
  softUnit: string | null;
  hardUnit: string | null;
  graceMs: number | null;
  /** When usage first went over a soft limit; null while under. */
  softExceededAt: Date | null;
  updatedAt: Date;
}

/** For `set`: an omitted field keeps its stored value, null clears it. */
export interface QuotaInput {
  kind: QuotaKind;
  subjectId: number;
  softBytes?: bigint | null;
  hardBytes?: bigint | null;
  softInodes?: bigint | null;
  hardInodes?: bigint | null;
  softUnit?: string | null;
  hardUnit?: string | null;
  graceMs?: number | null;
}

export interface Quotas {
  /** Creates or updates; INVALID when a soft limit exceeds its hard limit or a value is negative. */
  set(input: QuotaInput): Promise<QuotaRecord>;
  get(kind: QuotaKind, subjectId: number): Promise<QuotaRecord | null>;
  list(kind?: QuotaKind): Promise<QuotaRecord[]>;
  remove(kind: QuotaKind, subjectId: number): Promise<void>;
  /** Starts (a Date) or clears (null) the grace clock. */
  setSoftExceededAt(kind: QuotaKind, subjectId: number, at: Date | null): Promise<void>;
  /**
   * A token that changes with every change to the table, in the same transaction (null until
   * the first): what a gateway polls, instead of reading the whole table each time.
   */
  version(): Promise<string | null>;
}

/** The setting holding the quota table's version token (Quotas.version). */
export const QUOTA_VERSION_KEY = 'quota.version';

type Limits = Omit<QuotaRecord, 'kind' | 'subjectId' | 'softExceededAt' | 'updatedAt'>;

function plain(q: {
  kind: string;
  subjectId: number;
  softBytes: bigint | null;
  hardBytes: bigint | null;
  softInodes: bigint | null;
  hardInodes: bigint | null;
  softUnit: string | null;
  hardUnit: string | null;
  graceMs: bigint | null;
  softExceededAt: Date | null;
  updatedAt: Date;
}): QuotaRecord {
  return { ...q, kind: q.kind as QuotaKind, graceMs: q.graceMs === null ? null : Number(q.graceMs) };
}

function checkKind(kind: string): QuotaKind {
  if (kind !== 'uid' && kind !== 'gid') throw invalid(`quota kind must be uid or gid (got "${kind}")`);
  return kind;
}

function checkLimits(l: Limits): void {
  for (const [field, v] of Object.entries(l)) {
    if (typeof v === 'bigint' && (v < 0n || v > 2n ** 63n - 1n)) {
      throw invalid(`${field} must be from 0 to 2^63-1`);
    }
  }
  if (l.softBytes !== null && l.hardBytes !== null && l.softBytes > l.hardBytes) {
    throw invalid(`soft limit (${l.softBytes} bytes) exceeds hard limit (${l.hardBytes} bytes)`);
  }
  if (l.softInodes !== null && l.hardInodes !== null && l.softInodes > l.hardInodes) {
    throw invalid(`soft inode limit (${l.softInodes}) exceeds hard inode limit (${l.hardInodes})`);
  }
  if (l.graceMs !== null && (!Number.isSafeInteger(l.graceMs) || l.graceMs < 0)) {
    throw invalid('grace period must be a non-negative whole number of milliseconds');
  }
  for (const unit of [l.softUnit, l.hardUnit]) {
    if (unit !== null && !/^[A-Za-z]{0,8}$/.test(unit))
      throw invalid(`unit "${unit}" must be up to 8 letters`);
  }
}

export function createQuotas(prisma: PrismaClient): Quotas {
  const key = (kind: QuotaKind, subjectId: number) => ({ kind_subjectId: { kind, subjectId } });
  /** A new version token, written in the transaction of the change it announces. */
  const bump = () => {
    const value = randomUUID();
    return prisma.setting.upsert({
      where: { key: QUOTA_VERSION_KEY },
      create: { key: QUOTA_VERSION_KEY, value },
      update: { value },
    });
  };
  const get = async (kind: QuotaKind, subjectId: number) => {
    const q = await prisma.quota.findUnique({ where: key(checkKind(kind), subjectId) });
    return q ? plain(q) : null;
  };

  const set = async (input: QuotaInput, retried = false): Promise<QuotaRecord> => {
    const kind = checkKind(input.kind);
    checkId(kind, input.subjectId);
    const old = await get(kind, input.subjectId);
    const pick = <K extends keyof Limits>(k: K): Limits[K] =>
      (input[k] === undefined ? (old?.[k] ?? null) : input[k]) as Limits[K];
    const limits: Limits = {
      softBytes: pick('softBytes'),
      hardBytes: pick('hardBytes'),
      softInodes: pick('softInodes'),
      hardInodes: pick('hardInodes'),
      softUnit: pick('softUnit'),
      hardUnit: pick('hardUnit'),
      graceMs: pick('graceMs'),
    };
    checkLimits(limits);
    const data = { ...limits, graceMs: limits.graceMs === null ? null : BigInt(limits.graceMs) };
    try {
      const [q] = await prisma.$transaction([
        old
          ? prisma.quota.update({ where: key(kind, input.subjectId), data })
          : prisma.quota.create({ data: { kind, subjectId: input.subjectId, ...data } }),
        bump(),
      ]);
      return plain(q);
    } catch (err) {
      if (!retried && isUniqueViolation(err)) return set(input, true);
      throw err;
    }
  };

  return {
    set: (input) => set(input),
    get,
    async list(kind) {
      const rows = await prisma.quota.findMany({
        where: kind === undefined ? {} : { kind: checkKind(kind) },
        orderBy: [{ kind: 'desc' }, { subjectId: 'asc' }],
      });
      return rows.map(plain);
    },
    async remove(kind, subjectId) {
      const [{ count }] = await prisma.$transaction([
        prisma.quota.deleteMany({ where: { kind: checkKind(kind), subjectId } }),
        bump(),
      ]);
      if (count === 0) throw notFound(`${kind} ${subjectId} quota`);
    },
    async setSoftExceededAt(kind, subjectId, at) {
      await prisma.$transaction([
        prisma.quota.updateMany({
          where: { kind: checkKind(kind), subjectId },
          data: { softExceededAt: at },
        }),
        bump(),
      ]);
    },
    async version() {
      return (await prisma.setting.findUnique({ where: { key: QUOTA_VERSION_KEY } }))?.value ?? null;
    },
  };
}
