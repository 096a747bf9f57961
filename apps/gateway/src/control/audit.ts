import type { AuditEntryView, AuditOutcome } from '@claudefs/api';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { invalid } from './errors.ts';

export type { AuditOutcome };

/** An audit log row: the API's view, with its time as a Date. */
export type AuditEntry = Omit<AuditEntryView, 'at'> & { at: Date };

export interface AuditInput {
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  /** Serialised as JSON; values under secret-looking keys (password, secret, token…) are replaced by "[redacted]". */
  detail?: unknown;
  remoteAddr?: string | null;
  at?: Date;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  /** Actions containing this text, instead of `action` (the console's filter: `drain` finds drain and undrain). */
  actionContains?: string;
  target?: string;
  outcome?: AuditOutcome;
  since?: Date;
  until?: Date;
  /** Only entries with id < beforeId: the cursor for the next, older page. */
  beforeId?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface Audit {
  record(entry: AuditInput): Promise<AuditEntry>;
  /** Newest first. */
  list(filter?: AuditFilter): Promise<AuditEntry[]>;
  /** Deletes entries older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

/** Entries `prune` deletes per statement. */
const PRUNE_BATCH = 1000;

const SECRET_KEY = /password|passwd|secret|token$|hash$|^key$/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1)]),
  );
}

const OUTCOMES: readonly string[] = ['ok', 'denied', 'error'];

function plain(e: {
  id: number;
  at: Date;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  detail: string | null;
  remoteAddr: string | null;
}): AuditEntry {
  let detail: unknown = null;
  if (e.detail !== null) {
    try {
      detail = JSON.parse(e.detail);
    } catch {
      detail = e.detail;
    }
  }
  return { ...e, outcome: e.outcome as AuditOutcome, detail };
}

/**
 * An entry the control plane could not take (its disk full or read-only, its database out of
 * reach), with its detail redacted: given to whoever keeps it elsewhere (the gateway's log).
 */
export type LostAuditEntry = Omit<AuditInput, 'at' | 'detail'> & { at: Date; detail: string | null };

export function createAudit(prisma: PrismaClient, lost?: (entry: LostAuditEntry, err: Error) => void): Audit {
  return {
    async record(entry) {
      if (!OUTCOMES.includes(entry.outcome))
        throw invalid(`audit outcome must be one of ${OUTCOMES.join(', ')}`);
      const data = {
        at: entry.at ?? new Date(),
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        outcome: entry.outcome,
        detail:
          entry.detail === undefined
            ? null
            : JSON.stringify(redact(entry.detail), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
        remoteAddr: entry.remoteAddr ?? null,
      };
      try {
        return plain(await prisma.auditLog.create({ data }));
      } catch (e) {
        lost?.(data, e as Error);
        throw e;
      }
    },
    async list(f = {}) {
      const rows = await prisma.auditLog.findMany({
        where: {
          actor: f.actor,
          action: f.actionContains === undefined ? f.action : { contains: f.actionContains },
          target: f.target,
          outcome: f.outcome,
          at: f.since || f.until ? { gte: f.since, lte: f.until } : undefined,
          id: f.beforeId === undefined ? undefined : { lt: f.beforeId },
        },
        orderBy: { id: 'desc' },
        take: Math.min(Math.max(1, f.limit ?? 100), 1000),
      });
      return rows.map(plain);
    },
    async prune(before) {
      // A batch at a time, yielding between: a year of entries deleted in one statement would
      // hold SQLite (and the event loop its driver runs on) for as long as that takes.
      let total = 0;
      for (;;) {
        const batch = await prisma.auditLog.findMany({
          where: { at: { lt: before } },
          select: { id: true },
          orderBy: { id: 'asc' },
          take: PRUNE_BATCH,
        });
        if (batch.length === 0) return total;
        total += (await prisma.auditLog.deleteMany({ where: { id: { in: batch.map((r) => r.id) } } })).count;
        if (batch.length < PRUNE_BATCH) return total;
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}
