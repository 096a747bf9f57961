import type { Role } from './auth.ts';
import type { HealthReport } from './health.ts';
import type { BackendName, MetricsSnapshot } from './metrics.ts';
import type { CircuitView, ConfigStatus, LocksReport } from './ops.ts';
import type { QuotaKind } from './quotas.ts';

/**
 * Guided diagnostics: each troubleshooting tree of the runbook as a wizard that runs its checks
 * against the live gateway, shows what it measured, takes the branch the evidence points to and
 * offers the remediation as an action.
 */

/** The runbook's trees, in the runbook's order (preflight is the Day-1 checklist). */
export const DIAGNOSTIC_TREE_IDS = [
  'latency',
  'connection',
  'quota',
  'access',
  'smb-access',
  'unresponsive',
  'backend',
  'inconsistency',
  'preflight',
] as const;
export type DiagnosticTreeId = (typeof DIAGNOSTIC_TREE_IDS)[number];

/** A JSON value: what a step measured, safe for tRPC without a transformer (no bigint, no Date). */
export type Measured = string | number | boolean | null | Measured[] | { [key: string]: Measured };

/** Where in the runbook a tree or a step comes from. */
export interface RunbookCitation {
  /** The heading path in docs/RUNBOOK.md: `Troubleshooting Common Issues › High Latency › Diagnosis Flow`. */
  section: string;
  /** The runbook's own words for this step, when it has a line for it. */
  quote?: string;
}

/** check: measured by the gateway; manual: commands for the operator; action: a remediation to confirm. */
export type StepKind = 'check' | 'manual' | 'action';

/** skipped: not applicable here (S3 without TLS); info: nothing to judge (manual steps). */
export type StepVerdict = 'pass' | 'warn' | 'fail' | 'info' | 'skipped';

/** Commands for a manual step: the runbook's, and the product's stand-ins (RUNBOOK-NOTES) where they differ. */
export interface ManualCommands {
  /** As the runbook writes them, with this gateway's hosts, ports and paths filled in. */
  runbook: string[];
  /** What works on this product where the runbook's line cannot work verbatim. */
  product: string[];
  note?: string;
}

/** The remediations a wizard can offer, each with the least role that may run it. */
export const REMEDIATION_ACTIONS = [
  'drain',
  'undrain',
  'cache.invalidate',
  'circuit.reset',
  'quota.set',
  'log-level.set',
  'group.add-member',
] as const;
export type RemediationActionId = (typeof REMEDIATION_ACTIONS)[number];

/** The one table of who may run which remediation (tRPC and the admin API both enforce it). */
export const REMEDIATION_ROLES: Readonly<Record<RemediationActionId, Role>> = {
  drain: 'operator',
  undrain: 'operator',
  'cache.invalidate': 'operator',
  'circuit.reset': 'operator',
  'log-level.set': 'operator',
  'quota.set': 'admin',
  'group.add-member': 'admin',
};

export type DiagnosticLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What `diagnostics.remediate` runs: an action and its parameters. */
export type RemediationRequest =
  | { action: 'drain' }
  | { action: 'undrain' }
  | { action: 'cache.invalidate'; scope: 'all' }
  | { action: 'cache.invalidate'; scope: 'path'; path: string }
  | { action: 'cache.invalidate'; scope: 'uid'; uid: number }
  | { action: 'circuit.reset'; backend: BackendName }
  | {
      action: 'quota.set';
      kind: QuotaKind;
      id: number;
      soft?: string | null;
      hard?: string | null;
      softInodes?: number | null;
      hardInodes?: number | null;
      grace?: string | null;
    }
  | { action: 'log-level.set'; level: DiagnosticLogLevel }
  | { action: 'group.add-member'; user: string; group: string };

/** A remediation a step offers, prefilled; the console confirms it and sends `request`. */
export interface OfferedAction {
  request: RemediationRequest;
  label: string;
  minRole: Role;
  /** The question the console asks before running it. */
  confirm: string;
  /** The same change from a shell on the gateway host. */
  cli: string;
  /** Fields of `request` the operator may change before confirming (quota limits). */
  editable?: string[];
}

export interface DiagnosticInputDef {
  name: 'uid' | 'gid' | 'path' | 'user';
  required: boolean;
  help: string;
}

/** One node of a tree, as the console draws it before running. */
export interface DiagnosticStepDef {
  id: string;
  title: string;
  kind: StepKind;
  runbook: RunbookCitation;
  description: string;
  /** Outcome → the next step's id; null ends the walk. */
  branches: Record<string, string | null>;
  /** For manual steps: the commands, before this gateway's values are filled in. */
  commands?: ManualCommands;
}

export interface DiagnosticTreeDef {
  id: DiagnosticTreeId;
  title: string;
  runbook: RunbookCitation;
  summary: string;
  inputs: DiagnosticInputDef[];
  /** An input rule beyond each field's own (`give --uid or --gid`). */
  inputRule?: string;
  start: string;
  steps: DiagnosticStepDef[];
}

/** `diagnostics.run`: which tree, and whom or what it is about. */
export interface DiagnosticRequest {
  tree: DiagnosticTreeId;
  uid?: number;
  gid?: number;
  /** A namespace path (`/export/a/f`); for smb-access a share name or path. */
  path?: string;
  /** An S3 or SMB user name (or S3 access key id). */
  user?: string;
}

/** One step as it ran: what it measured, what it concluded and where it went next. */
export interface DiagnosticStepResult {
  id: string;
  title: string;
  kind: StepKind;
  runbook: RunbookCitation;
  verdict: StepVerdict;
  /** The branch taken (a key of the step's branches). */
  outcome: string;
  /** What was found, in one line. */
  summary: string;
  /** Why this branch: the numbers compared with the runbook's thresholds. */
  because: string;
  measured: Record<string, Measured>;
  /** Probe output and per-item lines. */
  evidence: string[];
  next: string | null;
  commands?: ManualCommands;
  actions: OfferedAction[];
  /** ms since the epoch. */
  startedAt: number;
  durationMs: number;
}

export interface DiagnosticConclusion {
  verdict: 'pass' | 'warn' | 'fail';
  summary: string;
  /** Every warn/fail step's finding, in the order found. */
  findings: string[];
  /** The step that decided the verdict. */
  stepId: string | null;
}

export interface DiagnosticRun {
  /** Names the run for `diagnostics.bundle {runId}` while it is among the gateway's recent runs. */
  id: string;
  tree: DiagnosticTreeId;
  title: string;
  request: DiagnosticRequest;
  /** `console:alice`, `token:ci`, `loopback`; null for an in-process caller. */
  ranBy: string | null;
  startedAt: string;
  durationMs: number;
  /** The path taken, in order. */
  steps: DiagnosticStepResult[];
  conclusion: DiagnosticConclusion;
  /** Every action the steps offered, deduplicated. */
  actions: OfferedAction[];
}

export interface RemediationResult {
  action: RemediationActionId;
  /** What was done, in one line (`log level info -> debug`). */
  summary: string;
  /** The underlying endpoint's answer (drain status, circuit, quota view…). */
  result: Measured;
}

/** One log line as the gateway wrote it (secrets already redacted by the logger). */
export interface LogLineView {
  /** ms since the epoch. */
  time: number | null;
  level: string;
  msg: string;
  /** The whole JSON line. */
  line: string;
}

/** What support gets: everything needed to see what the operator saw, with no secret in it. */
export interface SupportBundle {
  format: 'claudefs-support-bundle/1';
  createdAt: string;
  gateway: {
    node: string;
    pid: number;
    uptimeSeconds: number;
    nodeVersion: string;
    platform: string;
    configFile: string;
    logLevel: string;
  };
  health: HealthReport;
  metrics: MetricsSnapshot;
  circuits: CircuitView[];
  /** Who holds which byte-range locks ("the file is locked" is a common ticket). */
  locks: LocksReport;
  /** The running configuration; passwords in URLs and secret-named fields replaced by `***`. */
  config: Measured;
  /** The last reload since start: what it applied, what waits for a restart, or why it was refused. */
  lastReload: ConfigStatus['lastReload'];
  /** The wizard transcripts: the one asked for, or every recent run. */
  runs: DiagnosticRun[];
  /** The gateway's most recent log lines, oldest first. */
  logs: LogLineView[];
  /** How `logs` was gathered (ring size, level in force). */
  logNote: string;
}

/** `diagnostics.bundle`: one recent run's transcript, or every recent run's. */
export interface BundleRequest {
  runId?: string;
}
