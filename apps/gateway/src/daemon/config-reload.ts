import { loadConfig } from '../config/load.ts';
import { applyOverrides, type OverrideFlags } from '../config/overrides.ts';
import { formatProblem, type Problem } from '../config/problems.ts';
import { changeText, type SettingChange } from '../config/reload-plan.ts';
import type { Protocol } from '../config/types.ts';
import type { Gateway } from './gateway.ts';

/** What `./cfs gateway reload`, the console and the log say about one reload. */
export type ReloadReport =
  | { ok: true; at: string; applied: SettingChange[]; pendingRestart: SettingChange[] }
  | { ok: false; at: string; problems: string[] };

/** The flags and protocols the gateway was started with: a reload lays them over the file again. */
export interface StartArguments {
  flags: OverrideFlags;
  named: readonly Protocol[];
}

const startArguments = new WeakMap<Gateway, StartArguments>();
const running = new WeakMap<Gateway, Promise<unknown>>();

export function rememberStartArguments(gw: Gateway, args: StartArguments): void {
  startArguments.set(gw, args);
}

/**
 * Reads the configuration file again and applies it (SIGHUP, `POST /admin/config/reload`,
 * the console). A file with errors changes nothing: the running configuration stays and the
 * problems are reported with file, line and key. One reload at a time.
 */
export function reloadFromFile(gw: Gateway, trigger: string): Promise<ReloadReport> {
  const previous = running.get(gw) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(() => reloadNow(gw, trigger));
  running.set(gw, next);
  return next;
}

async function reloadNow(gw: Gateway, trigger: string): Promise<ReloadReport> {
  const at = new Date().toISOString();
  const log = gw.log.child({ feature: 'config' });
  const refuse = (problems: readonly Problem[] | string[]): ReloadReport => {
    const lines = problems.map((p) => (typeof p === 'string' ? p : formatProblem(p)));
    log.error(
      { trigger, problems: lines },
      `reload refused; keeping the running configuration: ${lines.join('; ')}`,
    );
    gw.lastReload = { at, applied: [], pendingRestart: gw.lastReload?.pendingRestart ?? [], problems: lines };
    return { ok: false, at, problems: lines };
  };
  // Certificate problems do not block the rest: the certificates feature keeps serving the old
  // pair when the new one is bad, and says so.
  const loaded = await loadConfig(gw.config.configFile, { tls: 'warning' });
  if (!loaded.config) return refuse(loaded.problems.filter((p) => p.severity === 'error'));
  const args = startArguments.get(gw) ?? { flags: {}, named: [] };
  // The file's log_level wins over a --log-level given at start: the runbook turns on debug by
  // editing the file.
  const { config, problems } = applyOverrides(
    loaded.config,
    { ...args.flags, logLevel: undefined },
    args.named,
  );
  if (!config) return refuse(problems.filter((p) => p.severity === 'error'));
  let plan: Awaited<ReturnType<Gateway['reload']>>;
  try {
    plan = await gw.reload(config);
  } catch (e) {
    return refuse([`the new configuration could not be applied: ${(e as Error).message}`]);
  }
  for (const c of plan.applied) log.info({ key: c.key, from: c.from, to: c.to }, `applied ${changeText(c)}`);
  for (const c of plan.pendingRestart) {
    log.warn({ key: c.key, from: c.from, to: c.to }, `${changeText(c)} takes effect at the next restart`);
  }
  log.info(
    {
      trigger,
      level: plan.config.logLevel,
      applied: plan.applied.length,
      pendingRestart: plan.pendingRestart.length,
    },
    `configuration reloaded: ${countText(plan.applied.length, 'change')} applied, ${plan.pendingRestart.length} waiting for a restart`,
  );
  return { ok: true, at, applied: plan.applied, pendingRestart: plan.pendingRestart };
}

function countText(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
