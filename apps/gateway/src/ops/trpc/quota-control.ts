import type { GatewayControl, QuotaSetRequest, QuotaView } from '@claudefs/api';
import { buildReport, reportJson, usageRowJson, usageRows } from '../../cli/format/identity-quota.ts';
import type { QuotaInput, QuotaKind, QuotaRecord } from '../../control/index.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { systemName } from '../../util/system-ids.ts';
import { parseDuration, parseSize } from '../../util/units.ts';
import { quotaEnforcer } from '../quota/feature.ts';
import { explainQuota } from './quota-explain.ts';

type QuotaControl = Pick<
  GatewayControl,
  'listQuotas' | 'getQuota' | 'setQuota' | 'removeQuota' | 'explainQuota' | 'quotaUsage'
>;

/** The account holding a uid or gid, by id. */
export async function subjectNames(gw: Gateway): Promise<(kind: QuotaKind, id: number) => string | null> {
  const [users, groups] = await Promise.all([gw.control.users.list(), gw.control.groups.list()]);
  const byUid = new Map(users.map((u) => [u.uid, u.name]));
  const byGid = new Map(groups.map((g) => [g.gid, g.name]));
  return (kind, id) => (kind === 'uid' ? byUid : byGid).get(id) ?? systemName(kind, id) ?? null;
}

/** A quota with the ledger's usage and its state, in `./cfs quota get --json`'s shape. */
export async function quotaView(
  gw: Gateway,
  q: QuotaRecord,
  nameOf: (kind: QuotaKind, id: number) => string | null,
): Promise<QuotaView> {
  const usage = await gw.ns.quotaUsage(q.kind, q.subjectId);
  return reportJson(
    buildReport(q, usage, nameOf(q.kind, q.subjectId), Date.now(), gw.config.quota.gracePeriodMs),
  );
}

/**
 * A limit as typed (`20GB`) into what the control plane stores: bytes and the unit, or null.
 * 0 is no limit, as `./cfs quota set-user` and setquota read it (not "nothing may be used").
 */
function sizeLimit(text: string | null): { bytes: bigint | null; unit: string | null } {
  if (text === null) return { bytes: null, unit: null };
  const { bytes, unit } = parseSize(text);
  return bytes === 0n ? { bytes: null, unit: null } : { bytes, unit };
}

function countLimit(n: number | null): bigint | null {
  return n === null || n === 0 ? null : BigInt(n);
}

function quotaInput(r: QuotaSetRequest): QuotaInput {
  const input: QuotaInput = { kind: r.kind, subjectId: r.id };
  if (r.soft !== undefined) {
    const { bytes, unit } = sizeLimit(r.soft);
    Object.assign(input, { softBytes: bytes, softUnit: unit });
  }
  if (r.hard !== undefined) {
    const { bytes, unit } = sizeLimit(r.hard);
    Object.assign(input, { hardBytes: bytes, hardUnit: unit });
  }
  if (r.softInodes !== undefined) input.softInodes = countLimit(r.softInodes);
  if (r.hardInodes !== undefined) input.hardInodes = countLimit(r.hardInodes);
  if (r.grace !== undefined) input.graceMs = r.grace === null ? null : parseDuration(r.grace);
  return input;
}

/**
 * Quotas through the control plane, as `./cfs quota` edits them; a change is enforced from the
 * next write on, since the enforcer's table is reloaded at once rather than at its next poll.
 */
export function quotaControl(gw: Gateway): QuotaControl {
  const { quotas } = gw.control;
  const applied = async () => {
    await quotaEnforcer(gw)?.refresh();
  };
  return {
    async listQuotas() {
      const nameOf = await subjectNames(gw);
      return Promise.all((await quotas.list()).map((q) => quotaView(gw, q, nameOf)));
    },
    async quotaUsage(kind) {
      const nameOf = await subjectNames(gw);
      const now = Date.now();
      const reports = await Promise.all(
        (await quotas.list(kind)).map(async (q) =>
          buildReport(
            q,
            await gw.ns.quotaUsage(q.kind, q.subjectId),
            nameOf(q.kind, q.subjectId),
            now,
            gw.config.quota.gracePeriodMs,
          ),
        ),
      );
      const rows = usageRows(kind, reports, await gw.ns.allQuotaUsage(), (id) => nameOf(kind, id));
      return rows.map(usageRowJson);
    },
    async getQuota(kind, id) {
      const q = await quotas.get(kind, id);
      return q ? quotaView(gw, q, await subjectNames(gw)) : null;
    },
    async setQuota(request) {
      const saved = await quotas.set(quotaInput(request));
      await applied();
      return quotaView(gw, saved, await subjectNames(gw));
    },
    async removeQuota(kind, id) {
      await quotas.remove(kind, id);
      await applied();
    },
    explainQuota: (subject) => explainQuota(gw, subject),
  };
}
