import type { PrismaClient } from '../generated/prisma/client.ts';
import { ControlError, isUniqueViolation } from './errors.ts';

export type RollingRestartOutcome = 'running' | 'finished' | 'cancelled';

/** One rolling-restart walk as stored; `state` is the walker's own JSON document. */
export interface RollingRestartRecord {
  id: number;
  startedBy: string;
  startedAt: Date;
  endedBy: string | null;
  endedAt: Date | null;
  outcome: RollingRestartOutcome;
  state: unknown;
  /** Bumped by every change: `update` writes only over the version it was given. */
  version: number;
}

export interface RollingRestartChange {
  state: unknown;
  /** Ends the walk: `finished` or `cancelled`, by whom, now. */
  end?: { outcome: Exclude<RollingRestartOutcome, 'running'>; by: string | null };
}

/** The rolling-restart walks: at most one runs per control plane (the unique `running` slot). */
export interface RollingRestarts {
  /** The running walk, else the one that ended last; null when there never was one. */
  latest(): Promise<RollingRestartRecord | null>;
  /** Starts a walk; EXISTS when one is already running (it names who started it). */
  create(startedBy: string, state: unknown): Promise<RollingRestartRecord>;
  /**
   * Writes the change if the walk is still at `version`; null when another writer changed it
   * first (read it again), so two gateways advancing one walk at once move it once.
   */
  update(id: number, version: number, change: RollingRestartChange): Promise<RollingRestartRecord | null>;
}

type Row = Omit<RollingRestartRecord, 'outcome' | 'state'> & {
  outcome: string;
  state: string;
  running: number | null;
};

function plain(r: Row): RollingRestartRecord {
  return {
    id: r.id,
    startedBy: r.startedBy,
    startedAt: r.startedAt,
    endedBy: r.endedBy,
    endedAt: r.endedAt,
    outcome: r.outcome as RollingRestartOutcome,
    state: JSON.parse(r.state) as unknown,
    version: r.version,
  };
}

export function createRollingRestarts(prisma: PrismaClient): RollingRestarts {
  const running = () => prisma.rollingRestart.findUnique({ where: { running: 1 } });
  return {
    async latest() {
      const r = (await running()) ?? (await prisma.rollingRestart.findFirst({ orderBy: { id: 'desc' } }));
      return r ? plain(r) : null;
    },
    async create(startedBy, state) {
      try {
        const r = await prisma.rollingRestart.create({
          data: {
            running: 1,
            startedBy,
            startedAt: new Date(),
            outcome: 'running',
            state: JSON.stringify(state),
          },
        });
        return plain(r);
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        const other = await running();
        throw new ControlError(
          'EXISTS',
          `a rolling restart is already running (started by ${other?.startedBy ?? 'someone'} at ${other?.startedAt.toISOString() ?? 'an unknown time'}): finish or cancel it first`,
        );
      }
    },
    async update(id, version, change) {
      const end = change.end
        ? { running: null, outcome: change.end.outcome, endedBy: change.end.by, endedAt: new Date() }
        : {};
      const { count } = await prisma.rollingRestart.updateMany({
        where: { id, version, outcome: 'running' },
        data: { state: JSON.stringify(change.state), version: version + 1, ...end },
      });
      if (count === 0) return null;
      const r = await prisma.rollingRestart.findUnique({ where: { id } });
      return r ? plain(r) : null;
    },
  };
}
