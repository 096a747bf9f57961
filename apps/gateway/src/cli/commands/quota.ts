import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { GatewayConfig } from '../../config/types.ts';
import { ControlError } from '../../control/errors.ts';
import type { ControlPlane, QuotaInput, QuotaKind, QuotaRecord } from '../../control/index.ts';
import { subjectLabel, type UsageAmounts } from '../../ops/quota/limits.ts';
import type { QuotaUsage } from '../../storage/types.ts';
import { systemName } from '../../util/system-ids.ts';
import { formatSize, parseDuration, parseSize, UnitError } from '../../util/units.ts';
import { CliExit, openCliNamespace, runCli } from '../context.ts';
import {
  audited,
  CONFIG_OPTION,
  parseCount,
  parseId,
  printJson,
  withControlPlane,
} from '../format/identity-context.ts';
import {
  buildReport,
  type QuotaReport,
  reportJson,
  reportTable,
  reportText,
  usageRowJson,
  usageRows,
  usageTable,
} from '../format/identity-quota.ts';

interface SetOptions {
  uid?: string;
  gid?: string;
  soft?: string;
  hard?: string;
  grace?: string;
  softInodes?: string;
  hardInodes?: string;
  json?: boolean;
  config?: string;
}

interface SubjectOptions {
  uid?: string;
  gid?: string;
  json?: boolean;
  config?: string;
}

/** A byte limit as typed; `0` or `none` clears it (no limit), as setquota reads 0. */
interface SizeArg {
  bytes: bigint | null;
  unit: string | null;
  text: string;
}

const CLEAR = /^(0|none)$/i;

export function parseSizeArg(flag: string, text: string): SizeArg {
  if (CLEAR.test(text.trim())) return { bytes: null, unit: null, text };
  try {
    const { bytes, unit } = parseSize(text);
    return { bytes, unit, text };
  } catch (e) {
    if (!(e instanceof UnitError)) throw e;
    throw new CliExit(`${flag}: '${text}' is not a size (${e.message})`, 2);
  }
}

function parseCountArg(flag: string, text: string): bigint | null {
  if (CLEAR.test(text.trim())) return null;
  return parseCount(flag, text);
}

/** `--grace default` (or `none`) goes back to quota.grace_period. */
function parseGraceArg(text: string): number | null {
  if (/^(default|none)$/i.test(text.trim())) return null;
  try {
    return parseDuration(text);
  } catch (e) {
    if (!(e instanceof UnitError)) throw e;
    throw new CliExit(`--grace: '${text}' is not a duration (${e.message})`, 2);
  }
}

function subjectOf(o: { uid?: string; gid?: string }): { kind: QuotaKind; id: number } {
  if ((o.uid === undefined) === (o.gid === undefined))
    throw new CliExit('give exactly one of --uid N or --gid N', 2);
  return o.uid !== undefined
    ? { kind: 'uid', id: parseId('--uid', o.uid, 'uid') }
    : { kind: 'gid', id: parseId('--gid', o.gid!, 'gid') };
}

interface Limit {
  value: bigint | null;
  /** The argument as typed, or undefined when the stored limit stays. */
  typed: string | undefined;
  /** The stored limit as printed. */
  stored: string;
}

/**
 * Refuses soft above hard with both as the operator typed them; one side may be the stored
 * value, since `set` changes only what is given.
 */
function checkOrder(suffix: string, soft: Limit, hard: Limit): void {
  if (soft.value === null || hard.value === null || soft.value <= hard.value) return;
  const side = (name: string, l: Limit) =>
    l.typed === undefined
      ? `the ${name}${suffix} limit already set (${l.stored})`
      : `--${name}${suffix} ${l.typed}`;
  throw new CliExit(
    `${side('soft', soft)} is above ${side('hard', hard)}: a soft limit must not exceed its hard limit; nothing changed`,
    2,
  );
}

/** Reads the namespace ledger; `none` when the namespace was never created. */
async function withLedger<T>(
  config: GatewayConfig,
  none: T,
  read: (ns: Awaited<ReturnType<typeof openCliNamespace>>) => Promise<T>,
): Promise<T> {
  if (config.metadata.kind === 'sqlite' && !existsSync(config.metadata.path)) return none;
  let ns: Awaited<ReturnType<typeof openCliNamespace>>;
  try {
    ns = await openCliNamespace(config);
  } catch (e) {
    throw new CliExit(`cannot open the namespace to read usage: ${(e as Error).message}`, 2);
  }
  try {
    return await read(ns);
  } finally {
    await ns.close();
  }
}

/** Each quota's usage from the namespace ledger (zero when the namespace was never created). */
async function ledgerUsage(config: GatewayConfig, quotas: readonly QuotaRecord[]): Promise<UsageAmounts[]> {
  const zeros = quotas.map(() => ({ bytes: 0n, inodes: 0n }));
  if (quotas.length === 0) return zeros;
  return withLedger(config, zeros, async (ns) => {
    const out: UsageAmounts[] = [];
    for (const q of quotas) out.push(await ns.quotaUsage(q.kind, q.subjectId));
    return out;
  });
}

async function reportsFor(
  cp: ControlPlane,
  config: GatewayConfig,
  quotas: QuotaRecord[],
): Promise<QuotaReport[]> {
  const [usage, users, groups] = await Promise.all([
    ledgerUsage(config, quotas),
    cp.users.list(),
    cp.groups.list(),
  ]);
  const userNames = new Map(users.map((u) => [u.uid, u.name]));
  const groupNames = new Map(groups.map((g) => [g.gid, g.name]));
  const now = Date.now();
  return quotas.map((q, i) =>
    buildReport(
      q,
      usage[i] ?? { bytes: 0n, inodes: 0n },
      (q.kind === 'uid' ? userNames : groupNames).get(q.subjectId) ?? null,
      now,
      config.quota.gracePeriodMs,
    ),
  );
}

async function setQuota(kind: QuotaKind, o: SetOptions): Promise<number> {
  const flag = kind === 'uid' ? '--uid' : '--gid';
  const raw = kind === 'uid' ? o.uid : o.gid;
  if (raw === undefined) throw new CliExit(`${flag} N is required`, 2);
  const id = parseId(flag, raw, kind);
  const soft = o.soft === undefined ? undefined : parseSizeArg('--soft', o.soft);
  const hard = o.hard === undefined ? undefined : parseSizeArg('--hard', o.hard);
  const softInodes = o.softInodes === undefined ? undefined : parseCountArg('--soft-inodes', o.softInodes);
  const hardInodes = o.hardInodes === undefined ? undefined : parseCountArg('--hard-inodes', o.hardInodes);
  const graceMs = o.grace === undefined ? undefined : parseGraceArg(o.grace);
  if ([soft, hard, softInodes, hardInodes, graceMs].every((v) => v === undefined)) {
    throw new CliExit('nothing to set: give --soft, --hard, --soft-inodes, --hard-inodes and/or --grace', 2);
  }
  return withControlPlane(o.config, async (cp, config) => {
    const old = await cp.quotas.get(kind, id);
    const stored = (v: bigint | null | undefined, unit?: string | null) =>
      v == null ? '-' : unit === undefined ? String(v) : formatSize(v, unit ?? undefined);
    checkOrder(
      '',
      {
        value: soft ? soft.bytes : (old?.softBytes ?? null),
        typed: soft?.text,
        stored: stored(old?.softBytes, old?.softUnit ?? null),
      },
      {
        value: hard ? hard.bytes : (old?.hardBytes ?? null),
        typed: hard?.text,
        stored: stored(old?.hardBytes, old?.hardUnit ?? null),
      },
    );
    checkOrder(
      '-inodes',
      {
        value: softInodes === undefined ? (old?.softInodes ?? null) : softInodes,
        typed: o.softInodes,
        stored: stored(old?.softInodes),
      },
      {
        value: hardInodes === undefined ? (old?.hardInodes ?? null) : hardInodes,
        typed: o.hardInodes,
        stored: stored(old?.hardInodes),
      },
    );
    const input: QuotaInput = { kind, subjectId: id };
    if (soft) Object.assign(input, { softBytes: soft.bytes, softUnit: soft.unit });
    if (hard) Object.assign(input, { hardBytes: hard.bytes, hardUnit: hard.unit });
    if (softInodes !== undefined) input.softInodes = softInodes;
    if (hardInodes !== undefined) input.hardInodes = hardInodes;
    if (graceMs !== undefined) input.graceMs = graceMs;
    const { kind: _k, subjectId: _s, ...detail } = input;
    const saved = await audited(cp, 'quota.set', subjectLabel(kind, id), () => cp.quotas.set(input), detail);
    const [report] = await reportsFor(cp, config, [saved]);
    if (o.json) printJson(reportJson(report!));
    else process.stdout.write(`quota set for ${subjectLabel(kind, id)}\n${reportText(report!)}`);
    return 0;
  });
}

async function getQuota(o: SubjectOptions): Promise<number> {
  const { kind, id } = subjectOf(o);
  return withControlPlane(o.config, async (cp, config) => {
    const q = await cp.quotas.get(kind, id);
    if (!q) throw new CliExit(`no quota set for ${subjectLabel(kind, id)}`, 1);
    const [report] = await reportsFor(cp, config, [q]);
    if (o.json) printJson(reportJson(report!));
    else process.stdout.write(reportText(report!));
    return 0;
  });
}

async function listQuotas(o: { json?: boolean; config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp, config) => {
    const reports = await reportsFor(cp, config, await cp.quotas.list());
    if (o.json) printJson(reports.map(reportJson));
    else process.stdout.write(reportTable(reports));
    return 0;
  });
}

/**
 * `./cfs quota report` (repquota): every uid — with --group, every gid — that owns something or
 * has a quota, most space first, with its limits and state where it has a quota.
 */
async function reportUsage(o: { group?: boolean; json?: boolean; config?: string }): Promise<number> {
  const kind: QuotaKind = o.group ? 'gid' : 'uid';
  return withControlPlane(o.config, async (cp, config) => {
    const quotas = await cp.quotas.list(kind);
    const held = await withLedger(config, [] as QuotaUsage[], (ns) => ns.allQuotaUsage());
    const names = new Map(
      kind === 'uid'
        ? (await cp.users.list()).map((u) => [u.uid, u.name] as const)
        : (await cp.groups.list()).map((g) => [g.gid, g.name] as const),
    );
    const rows = usageRows(
      kind,
      await reportsFor(cp, config, quotas),
      held,
      (id) => names.get(id) ?? systemName(kind, id) ?? null,
    );
    if (o.json) printJson(rows.map(usageRowJson));
    else process.stdout.write(usageTable(rows, kind));
    return 0;
  });
}

async function removeQuota(o: SubjectOptions): Promise<number> {
  const { kind, id } = subjectOf(o);
  return withControlPlane(o.config, async (cp) => {
    await audited(cp, 'quota.remove', subjectLabel(kind, id), () => cp.quotas.remove(kind, id)).catch(
      (e: unknown) => {
        // Worded as `quota get` words it.
        if (e instanceof ControlError && e.code === 'NOT_FOUND')
          throw new CliExit(`no quota set for ${subjectLabel(kind, id)}`, 1);
        throw e;
      },
    );
    if (o.json) printJson({ removed: { kind, id } });
    else process.stdout.write(`quota removed for ${subjectLabel(kind, id)}\n`);
    return 0;
  });
}

function addSetCommand(quota: Command, name: string, kind: QuotaKind): void {
  const who = kind === 'uid' ? 'user' : 'group';
  quota
    .command(name)
    .description(`set a ${who}'s limits (only the limits given change; 0 or none removes a limit)`)
    .option(`--${kind} <${kind}>`, `the ${kind} (it need not belong to an account)`)
    .option('--soft <size>', 'soft byte limit, e.g. 20GB or 20GiB (printed back as typed)')
    .option('--hard <size>', 'hard byte limit')
    .option('--grace <duration>', 'how long usage may stay over soft, e.g. 7d (default: quota.grace_period)')
    .option('--soft-inodes <n>', 'soft limit on files and directories')
    .option('--hard-inodes <n>', 'hard limit on files and directories')
    .option('--json', 'print the resulting quota as JSON')
    .option(...CONFIG_OPTION)
    .action((o: SetOptions) => runCli(() => setQuota(kind, o)));
}

export function registerQuota(program: Command): void {
  const quota = program
    .command('quota')
    .description('per-uid and per-gid quotas: soft and hard limits on bytes and inodes, with a grace period');
  addSetCommand(quota, 'set-user', 'uid');
  addSetCommand(quota, 'set-group', 'gid');
  quota
    .command('get')
    .description('show one quota with its usage and state')
    .option('--uid <uid>', 'a user quota')
    .option('--gid <gid>', 'a group quota')
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((o: SubjectOptions) => runCli(() => getQuota(o)));
  quota
    .command('list')
    .description(
      'show every quota with its usage and state (ok, over soft, in grace, grace expired, over hard)',
    )
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((o: { json?: boolean; config?: string }) => runCli(() => listQuotas(o)));
  quota
    .command('report')
    .description(
      'every user (--group: every group) owning anything, most space first, with its quota if it has one (repquota)',
    )
    .option('--group', 'groups (gids) instead of users (uids)')
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((o: { group?: boolean; json?: boolean; config?: string }) => runCli(() => reportUsage(o)));
  quota
    .command('remove')
    .description('remove a quota')
    .option('--uid <uid>', 'a user quota')
    .option('--gid <gid>', 'a group quota')
    .option('--json', 'print the result as JSON')
    .option(...CONFIG_OPTION)
    .action((o: SubjectOptions) => runCli(() => removeQuota(o)));
}
