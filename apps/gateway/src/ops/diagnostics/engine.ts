import { randomBytes } from 'node:crypto';
import type { Gateway } from '../../daemon/gateway.ts';
import type {
  DiagnosticConclusion,
  DiagnosticRequest,
  DiagnosticRun,
  DiagnosticStepDef,
  DiagnosticStepResult,
  DiagnosticTreeDef,
  ManualCommands,
  Measured,
  OfferedAction,
  StepVerdict,
} from './api.ts';
import type { LogRing } from './log-ring.ts';

/** What a step found, and which of its branches that points to. */
export interface StepOutcome {
  /** A key of the step's `branches`. */
  outcome: string;
  verdict: StepVerdict;
  summary: string;
  /** The comparison that chose the branch: numbers against the runbook's thresholds. */
  because: string;
  /** Numbers, timings, probe output; undefined fields are dropped, bigints become strings. */
  measured?: Record<string, Measured | undefined>;
  evidence?: string[];
  commands?: ManualCommands;
  actions?: OfferedAction[];
  /** The line this step adds to the conclusion when it warns or fails (default: summary). */
  finding?: string;
  /** The conclusion's summary when the walk ends with nothing wrong (the last one set wins). */
  conclusion?: string;
}

/** A node of a tree: its data (what the console draws) and the check that runs it. */
export interface TreeStep extends DiagnosticStepDef {
  run(ctx: DiagnosisContext): Promise<StepOutcome> | StepOutcome;
  /** Default STEP_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface DiagnosticTree extends Omit<DiagnosticTreeDef, 'steps'> {
  steps: TreeStep[];
  /** A message when the request lacks what the tree needs; checked before any step runs. */
  checkRequest?(request: DiagnosticRequest): string | undefined;
}

export interface DiagnosticsOptions {
  /** How long CPU, retransmits and event-loop delay are sampled (default 1000 ms). */
  sampleMs: number;
}

export interface DiagnosisContext {
  readonly gw: Gateway;
  readonly request: DiagnosticRequest;
  readonly ranBy: string | null;
  readonly logs: LogRing;
  readonly options: DiagnosticsOptions;
  /** Values steps leave for later steps of the same run. */
  readonly facts: Map<string, unknown>;
  /** Computes once per run (a preflight or a certificate read shared by several steps). */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export const STEP_TIMEOUT_MS = 60_000;
/** A walk never visits more steps than this, whatever a tree's branches say. */
const MAX_STEPS = 64;

/** What the console needs to draw a tree before running it (no functions). */
export function definitionOf(tree: DiagnosticTree): DiagnosticTreeDef {
  const { steps, checkRequest: _check, ...rest } = tree;
  return {
    ...rest,
    steps: steps.map(({ run: _run, timeoutMs: _t, ...def }) => def),
  };
}

/** Every branch names a step of the tree, the start exists and every step can be reached. */
export function treeProblems(tree: DiagnosticTree): string[] {
  const ids = new Set(tree.steps.map((s) => s.id));
  const problems: string[] = [];
  if (ids.size !== tree.steps.length) problems.push(`${tree.id}: duplicate step ids`);
  if (!ids.has(tree.start)) problems.push(`${tree.id}: start '${tree.start}' is not a step`);
  for (const s of tree.steps) {
    for (const [outcome, next] of Object.entries(s.branches)) {
      if (next !== null && !ids.has(next))
        problems.push(`${tree.id}.${s.id}: ${outcome} → unknown '${next}'`);
    }
  }
  const reached = new Set<string>();
  const queue = [tree.start];
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (reached.has(id)) continue;
    reached.add(id);
    const s = tree.steps.find((x) => x.id === id);
    for (const next of Object.values(s?.branches ?? {})) if (next !== null) queue.push(next);
  }
  for (const s of tree.steps) if (!reached.has(s.id)) problems.push(`${tree.id}.${s.id}: unreachable`);
  return problems;
}

async function withTimeout<T>(work: Promise<T> | T, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve(work),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What tRPC (no transformer) and JSON.stringify can carry: bigints as decimal strings, no undefined. */
function jsonSafe(measured: Record<string, Measured | undefined>): Record<string, Measured> {
  return JSON.parse(JSON.stringify(measured, (_k, v) => (typeof v === 'bigint' ? String(v) : v))) as Record<
    string,
    Measured
  >;
}

const RANK: Record<StepVerdict, number> = { skipped: 0, info: 0, pass: 1, warn: 2, fail: 3 };

function conclude(
  steps: DiagnosticStepResult[],
  findings: string[],
  passSummary: string,
): DiagnosticConclusion {
  let worst: DiagnosticStepResult | undefined;
  for (const s of steps) if (!worst || RANK[s.verdict] > RANK[worst.verdict]) worst = s;
  const verdict = worst && (worst.verdict === 'fail' || worst.verdict === 'warn') ? worst.verdict : 'pass';
  if (verdict === 'pass') return { verdict, summary: passSummary, findings, stepId: worst?.id ?? null };
  return { verdict, summary: findings.join('; '), findings, stepId: worst?.id ?? null };
}

function dedupe(actions: OfferedAction[]): OfferedAction[] {
  const seen = new Set<string>();
  return actions.filter((a) => {
    const key = JSON.stringify(a.request);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Walks a tree from its start: runs each step, records what it measured, follows the branch its
 * outcome names, and stops at a null branch. A step that throws or times out is a failed step
 * that ends the walk (its own "error" branch, when it has one, decides otherwise).
 */
export async function runTree(tree: DiagnosticTree, ctx: DiagnosisContext): Promise<DiagnosticRun> {
  const startedAt = new Date();
  const t0 = performance.now();
  const byId = new Map(tree.steps.map((s) => [s.id, s]));
  const steps: DiagnosticStepResult[] = [];
  const findings: string[] = [];
  let passSummary = 'no problem found';
  const visited = new Set<string>();
  let id: string | null = tree.start;
  while (id !== null && steps.length < MAX_STEPS) {
    const step = byId.get(id);
    if (!step || visited.has(id)) break;
    visited.add(id);
    const started = Date.now();
    const s0 = performance.now();
    let o: StepOutcome;
    try {
      o = await withTimeout(step.run(ctx), step.timeoutMs ?? STEP_TIMEOUT_MS, `step ${step.id}`);
    } catch (e) {
      o = {
        outcome: 'error',
        verdict: 'fail',
        summary: `${step.title}: the check itself failed: ${(e as Error).message}`,
        because: 'the check could not measure anything, so no branch applies',
      };
    }
    let next: string | null;
    if (Object.hasOwn(step.branches, o.outcome)) next = step.branches[o.outcome] ?? null;
    else {
      next = null;
      if (o.outcome !== 'error') {
        o = {
          ...o,
          verdict: 'fail',
          because: `${o.because} (outcome '${o.outcome}' has no branch in tree ${tree.id}: the walk ends here)`,
        };
      }
    }
    if (o.verdict === 'warn' || o.verdict === 'fail') findings.push(o.finding ?? o.summary);
    if (o.conclusion !== undefined) passSummary = o.conclusion;
    steps.push({
      id: step.id,
      title: step.title,
      kind: step.kind,
      runbook: step.runbook,
      verdict: o.verdict,
      outcome: o.outcome,
      summary: o.summary,
      because: o.because,
      measured: jsonSafe(o.measured ?? {}),
      evidence: o.evidence ?? [],
      next,
      ...((o.commands ?? step.commands) ? { commands: o.commands ?? step.commands } : {}),
      actions: o.actions ?? [],
      startedAt: started,
      durationMs: Math.round((performance.now() - s0) * 10) / 10,
    });
    id = next;
  }
  return {
    id: `${startedAt.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`,
    tree: tree.id,
    title: tree.title,
    request: ctx.request,
    ranBy: ctx.ranBy,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    steps,
    conclusion: conclude(steps, findings, passSummary),
    actions: dedupe(steps.flatMap((s) => s.actions)),
  };
}

/** A fresh context for one run. */
export function newContext(
  gw: Gateway,
  request: DiagnosticRequest,
  ranBy: string | null,
  logs: LogRing,
  options: DiagnosticsOptions,
): DiagnosisContext {
  const memos = new Map<string, Promise<unknown>>();
  return {
    gw,
    request,
    ranBy,
    logs,
    options,
    facts: new Map(),
    memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
      let p = memos.get(key) as Promise<T> | undefined;
      if (!p) {
        p = compute();
        memos.set(key, p);
      }
      return p;
    },
  };
}
