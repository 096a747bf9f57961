import { redactUrl } from '../../config/backend-url.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { locksReport } from '../locks/report.ts';
import { getMetrics } from '../metrics/index.ts';
import { remediate } from './actions.ts';
import type {
  BundleRequest,
  DiagnosticRequest,
  DiagnosticRun,
  DiagnosticTreeDef,
  Measured,
  RemediationRequest,
  RemediationResult,
  SupportBundle,
} from './api.ts';
import { type DiagnosticsOptions, definitionOf, newContext, runTree } from './engine.ts';
import { DiagnosticsError } from './errors.ts';
import { LogRing } from './log-ring.ts';
import { TREE_IDS, TREES } from './trees/index.ts';

/** Runs kept for `bundle {runId}` and for bundles of everything recent. */
export const RECENT_RUNS = 20;
const MAX_ID = 2 ** 31 - 2;

const SECRET_KEY = /password|secret|token|passphrase|credential/i;

/** The running configuration as JSON, with URL passwords and secret-named fields replaced. */
export function redactedConfig(config: unknown): Measured {
  const walk = (v: unknown, key: string): Measured => {
    if (typeof v === 'string') {
      if (SECRET_KEY.test(key)) return '***';
      return redactUrl(v);
    }
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
    if (typeof v === 'bigint') return String(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined && typeof x !== 'function')
          .map(([k, x]) => [k, SECRET_KEY.test(k) && typeof x !== 'object' ? '***' : walk(x, k)]),
      );
    }
    return null;
  };
  return walk(config, '');
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID;
}

/**
 * A run request from the admin API's JSON body, checked as the tRPC input schema checks it
 * (the console's requests come through that schema; the CLI's through this).
 */
export function parseRunRequest(body: unknown): DiagnosticRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DiagnosticsError(`body must be a JSON object: {"tree": "${TREE_IDS[0]}", …}`);
  }
  const b = body as Record<string, unknown>;
  if (typeof b.tree !== 'string' || !(TREE_IDS as readonly string[]).includes(b.tree)) {
    throw new DiagnosticsError(
      `unknown tree ${JSON.stringify(b.tree ?? null)}: choose ${TREE_IDS.join(', ')}`,
      404,
    );
  }
  const r: DiagnosticRequest = { tree: b.tree as DiagnosticRequest['tree'] };
  for (const k of ['uid', 'gid'] as const) {
    if (b[k] === undefined || b[k] === null) continue;
    if (!isId(b[k])) throw new DiagnosticsError(`${k} must be a whole number from 0 to ${MAX_ID}`);
    r[k] = b[k];
  }
  if (b.path !== undefined && b.path !== null) {
    if (typeof b.path !== 'string' || b.path === '' || b.path.length > 4096)
      throw new DiagnosticsError('path must be a non-empty string');
    r.path = b.path;
  }
  if (b.user !== undefined && b.user !== null) {
    if (typeof b.user !== 'string' || b.user === '' || b.user.length > 128)
      throw new DiagnosticsError('user must be a name of 1 to 128 characters');
    r.user = b.user;
  }
  return r;
}

/**
 * The gateway's guided diagnostics: the trees, the runs (kept for bundles), the log ring the
 * bundles and the quota tree read, and the remediations.
 */
export class DiagnosticsService {
  readonly logs = new LogRing();
  private readonly recent: DiagnosticRun[] = [];
  private readonly options: DiagnosticsOptions;

  constructor(
    private readonly gw: Gateway,
    options: Partial<DiagnosticsOptions> = {},
  ) {
    this.options = { sampleMs: options.sampleMs ?? 1000 };
  }

  start(): void {
    this.logs.attach(this.gw.log);
  }

  stop(): void {
    this.logs.detach();
  }

  trees(): DiagnosticTreeDef[] {
    return TREE_IDS.map((id) => definitionOf(TREES[id]));
  }

  async run(request: DiagnosticRequest, ranBy: string | null): Promise<DiagnosticRun> {
    const tree = TREES[request.tree];
    if (!tree)
      throw new DiagnosticsError(`unknown tree '${request.tree}': choose ${TREE_IDS.join(', ')}`, 404);
    const problem = tree.checkRequest?.(request);
    if (problem) throw new DiagnosticsError(problem);
    const run = await runTree(tree, newContext(this.gw, request, ranBy, this.logs, this.options));
    this.recent.push(run);
    if (this.recent.length > RECENT_RUNS) this.recent.shift();
    const c = run.conclusion;
    this.gw.log.info(
      {
        diagnostics: { tree: run.tree, run: run.id, verdict: c.verdict, steps: run.steps.map((s) => s.id) },
        actor: ranBy,
      },
      `diagnose ${run.tree}: ${c.verdict} — ${c.summary}`,
    );
    return run;
  }

  runs(): DiagnosticRun[] {
    return [...this.recent];
  }

  async bundle(request: BundleRequest): Promise<SupportBundle> {
    let runs: DiagnosticRun[];
    if (request.runId !== undefined) {
      const run = this.recent.find((r) => r.id === request.runId);
      if (!run) {
        throw new DiagnosticsError(
          `no recent run '${request.runId}': the gateway keeps the last ${RECENT_RUNS} runs (and none across restarts)`,
          404,
        );
      }
      runs = [run];
    } else runs = this.runs();
    const { gw } = this;
    const logs = this.logs.recent();
    return {
      format: 'claudefs-support-bundle/1',
      createdAt: new Date().toISOString(),
      gateway: {
        node: gw.config.node.name,
        pid: process.pid,
        uptimeSeconds: Math.round(process.uptime()),
        nodeVersion: process.version,
        platform: `${process.platform} ${process.arch}`,
        configFile: gw.config.configFile,
        logLevel: gw.log.level,
      },
      health: gw.health.report(),
      metrics: getMetrics(gw).snapshot(),
      circuits: Object.values(gw.ns.breakers).map((b) => {
        const s = b.snapshot();
        return {
          backend: s.backend,
          state: s.state,
          consecutiveFailures: s.consecutiveFailures,
          totalFailures: s.totalFailures,
          ...(s.lastError ? { lastError: s.lastError } : {}),
          ...(s.openedAt !== undefined ? { openedAt: s.openedAt } : {}),
          ...(s.nextProbeAt !== undefined ? { nextProbeAt: s.nextProbeAt } : {}),
        };
      }),
      locks: locksReport(gw),
      config: redactedConfig(gw.config),
      lastReload: gw.lastReload ?? null,
      runs,
      logs,
      logNote: this.logs.problem
        ? this.logs.problem
        : `the last ${logs.length} lines (at most ${this.logs.capacity}) the gateway wrote since ${new Date(this.logs.since).toISOString()}, at log level ${gw.log.level}; the logger redacts secrets before a line is written`,
    };
  }

  remediate(request: RemediationRequest): Promise<RemediationResult> {
    return remediate(this.gw, request);
  }
}
