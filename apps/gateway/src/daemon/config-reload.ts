import { loadConfig } from '../config/load.ts';
import { applyOverrides, type OverrideFlags } from '../config/overrides.ts';
import { formatProblem, type Problem } from '../config/problems.ts';
import { changeText, planReload, type SettingChange } from '../config/reload-plan.ts';
import type { GatewayConfig, Protocol } from '../config/types.ts';
import type { Gateway } from './gateway.ts';

/** What `./cfs gateway reload`, the console and the log say about one reload. */
export type ReloadReport =
  | {
      ok: true;
      at: string;
      applied: SettingChange[];
      pendingRestart: SettingChange[];
      /**
       * Settings whose value in the file the start's flags (`--bind`, `--tls-cert`, …) override:
       * `from` the file's, `to` the flag's, which stays. Absent from older gateways.
       */
      overridden?: SettingChange[];
    }
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

/** The file as a reload would apply it (the start's flags laid over it), or its problems. */
async function readFile(
  gw: Gateway,
): Promise<{ config: GatewayConfig; overridden: SettingChange[] } | { problems: string[] }> {
  // Certificate problems do not block the rest: the certificates feature keeps serving the old
  // pair when the new one is bad, and says so.
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(gw.config.configFile, { tls: 'warning', empty: 'error' });
  } catch (e) {
    // Gone, unreadable: ConfigError says which file and why.
    return { problems: [(e as Error).message] };
  }
  const errors = (problems: readonly Problem[]) => ({
    problems: problems.filter((p) => p.severity === 'error').map(formatProblem),
  });
  if (!loaded.config) return errors(loaded.problems);
  const args = startArguments.get(gw) ?? { flags: {}, named: [] };
  // The file's log_level wins over a --log-level given at start: the runbook turns on debug by
  // editing the file.
  const { config, problems } = applyOverrides(
    loaded.config,
    { ...args.flags, logLevel: undefined },
    args.named,
  );
  if (!config) return errors(problems);
  // A setting edited in the file that a start flag overrides would otherwise read as "no
  // setting changed": said, with the flag's value that stays.
  const laid = planReload(loaded.config, config);
  return { config, overridden: [...laid.applied, ...laid.pendingRestart] };
}

/**
 * What a reload would do now, changing nothing (`GET /admin/config/preview`, `./cfs gateway
 * reload --dry-run`, the console's confirmation).
 */
export async function previewReload(gw: Gateway): Promise<ReloadReport> {
  const at = new Date().toISOString();
  const read = await readFile(gw);
  if ('problems' in read) return { ok: false, at, problems: read.problems };
  const { applied, pendingRestart } = planReload(gw.running(), read.config);
  return { ok: true, at, applied, pendingRestart, overridden: read.overridden };
}

async function reloadNow(gw: Gateway, trigger: string): Promise<ReloadReport> {
  const log = gw.log.child({ feature: 'config' });
  if (gw.lifecycle === 'new' || gw.lifecycle === 'starting') {
    // SIGHUP while the gateway opens its stores and listeners: reloading a half-started
    // gateway would fail; the request is kept and carried out once it serves.
    log.info(
      { trigger },
      'reload requested while the gateway is starting; it runs once the gateway has started',
    );
    try {
      await gw.whenStarted();
    } catch {
      return { ok: false, at: new Date().toISOString(), problems: ['the gateway did not start'] };
    }
  }
  const at = new Date().toISOString();
  if (gw.lifecycle === 'stopping') {
    log.info({ trigger }, 'reload not run: the gateway is stopping');
    return { ok: false, at, problems: ['the gateway is stopping'] };
  }
  const refuse = (lines: string[]): ReloadReport => {
    log.error(
      { trigger, problems: lines },
      `reload refused; keeping the running configuration: ${lines.join('; ')}`,
    );
    // What waits for a restart cannot be told from a file that does not load: the refusal says why.
    gw.lastReload = { at, applied: [], pendingRestart: [], problems: lines };
    return { ok: false, at, problems: lines };
  };
  const read = await readFile(gw);
  if ('problems' in read) return refuse(read.problems);
  const { config, overridden } = read;
  for (const c of overridden)
    log.warn(
      { setting: c.setting, file: c.from, flag: c.to },
      `${c.setting} in ${gw.config.configFile} is ${c.from}, but the flag given at start keeps ${c.to}: restart without it to use the file's`,
    );
  let plan: Awaited<ReturnType<Gateway['reload']>>;
  try {
    plan = await gw.reload(config);
  } catch (e) {
    return refuse([`the new configuration could not be applied: ${(e as Error).message}`]);
  }
  for (const c of plan.applied)
    log.info({ setting: c.setting, from: c.from, to: c.to }, `applied ${changeText(c)}`);
  for (const c of plan.pendingRestart) {
    log.warn(
      { setting: c.setting, from: c.from, to: c.to },
      `${changeText(c)} takes effect at the next restart`,
    );
  }
  log.info(
    {
      trigger,
      logLevel: plan.config.logLevel,
      applied: plan.applied.length,
      pendingRestart: plan.pendingRestart.length,
    },
    `configuration reloaded: ${countText(plan.applied.length, 'change')} applied, ${plan.pendingRestart.length} waiting for a restart`,
  );
  return { ok: true, at, applied: plan.applied, pendingRestart: plan.pendingRestart, overridden };
}

function countText(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
