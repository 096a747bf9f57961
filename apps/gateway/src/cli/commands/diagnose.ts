import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { GatewayConfig } from '../../config/types.ts';
import { pidFilePath, runningGatewayPid } from '../../daemon/pid-file.ts';
import type {
  DiagnosticRequest,
  DiagnosticRun,
  DiagnosticStepResult,
  DiagnosticTreeId,
  SupportBundle,
} from '../../ops/diagnostics/api.ts';
import { TREE_IDS } from '../../ops/diagnostics/tree-ids.ts';
import { AdminApiError, AdminClient, GatewayUnreachable, loadOperatorConfig } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';
import type { CommandOutput } from '../format/output.ts';
import { stuckGateway } from '../stuck-gateway.ts';

export interface DiagnoseOptions {
  uid?: number;
  gid?: number;
  path?: string;
  user?: string;
  json?: boolean;
  /** Write a support bundle (JSON) here as well. */
  bundle?: string;
  /** How long to wait for the gateway's answer (default 150 s; 15 s for `unresponsive`). */
  timeoutMs?: number;
}

const MARK: Record<DiagnosticStepResult['verdict'], string> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  info: 'INFO',
  skipped: 'SKIP',
};

/**
 * `./cfs diagnose --list`: the trees, from this build (no gateway needed). They are loaded here,
 * not with the command: their checks reach most of the gateway.
 */
export async function listTrees(json = false): Promise<string> {
  const [{ definitionOf }, { TREES }] = await Promise.all([
    import('../../ops/diagnostics/engine.ts'),
    import('../../ops/diagnostics/trees/index.ts'),
  ]);
  if (json) {
    const trees = TREE_IDS.map((id) => {
      const t = definitionOf(TREES[id]);
      return {
        id,
        title: t.title,
        runbook: t.runbook.section,
        inputs: t.inputs.map((i) => ({ name: i.name, required: i.required })),
        ...(t.inputRule ? { inputRule: t.inputRule } : {}),
      };
    });
    return `${JSON.stringify(trees, null, 2)}\n`;
  }
  const lines: string[] = [];
  for (const id of TREE_IDS) {
    const t = definitionOf(TREES[id]);
    const inputs = t.inputs.map((i) => (i.required ? `--${i.name} …` : `[--${i.name} …]`)).join(' ');
    lines.push(`${id.padEnd(14)}${t.title}${inputs ? `   ${inputs}` : ''}`);
    lines.push(`${''.padEnd(14)}runbook: ${t.runbook.section}${t.inputRule ? `; ${t.inputRule}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The wizard transcript as an operator reads it in a terminal. */
export function renderRun(run: DiagnosticRun): string {
  const out: string[] = [`diagnose ${run.tree}: ${run.title}`];
  const req = Object.entries(run.request)
    .filter(([k]) => k !== 'tree')
    .map(([k, v]) => `--${k} ${v}`)
    .join(' ');
  if (req) out.push(`for ${req}`);
  out.push('');
  run.steps.forEach((s, i) => {
    const n = `${i + 1}.`.padEnd(4);
    out.push(
      `${n}${MARK[s.verdict]}  ${s.title}${s.kind === 'check' ? '' : ` (${s.kind})`}  [${s.runbook.section}]`,
    );
    const pad = '          ';
    out.push(`${pad}${s.summary}`);
    if (s.kind === 'check') out.push(`${pad}why: ${s.because}${s.next ? ` → ${s.next}` : ''}`);
    for (const e of s.evidence) if (e !== s.summary) out.push(`${pad}· ${e}`);
    if (s.commands && s.kind !== 'check') {
      for (const c of s.commands.runbook) out.push(`${pad}$ ${c}    # runbook`);
      for (const c of s.commands.product) out.push(`${pad}$ ${c}`);
      if (s.commands.note) out.push(`${pad}note: ${s.commands.note}`);
    }
  });
  out.push('');
  out.push(`conclusion: ${MARK[run.conclusion.verdict]} — ${run.conclusion.summary}`);
  if (run.actions.length > 0) {
    out.push('remediation (confirm in the console, or run):');
    for (const a of run.actions) out.push(`  [${a.minRole}] ${a.label}: ${a.cli}`);
  }
  out.push(`run ${run.id}, ${run.durationMs} ms`);
  return `${out.join('\n')}\n`;
}

function request(tree: DiagnosticTreeId, o: DiagnoseOptions): DiagnosticRequest {
  return {
    tree,
    ...(o.uid === undefined ? {} : { uid: o.uid }),
    ...(o.gid === undefined ? {} : { gid: o.gid }),
    ...(o.path === undefined ? {} : { path: o.path }),
    ...(o.user === undefined ? {} : { user: o.user }),
  };
}

/**
 * The unresponsive wizard when the gateway does not answer at all: what this host can still see
 * (the PID file and whether that process lives), and the runbook's next steps.
 */
function notAnswering(config: GatewayConfig, client: AdminClient, why: string): CommandOutput {
  const pid = runningGatewayPid(config.stateDir);
  const stuck = pid === undefined ? undefined : stuckGateway(pid);
  const pad = '          ';
  const next =
    pid === undefined
      ? ['sudo systemctl start claudefs-gateway', './cfs gateway start --config …']
      : stuck && stuck.commands.length > 0
        ? [...stuck.commands, 'sudo systemctl restart claudefs-gateway    # runbook: if stuck, restart']
        : [
            `kill -HUP ${pid}    # re-reads the file (log_level: debug)`,
            'sudo systemctl restart claudefs-gateway    # runbook: if stuck, restart',
          ];
  const lines = [
    'diagnose unresponsive: Gateway unresponsive (the gateway did not answer; checked from this host)',
    '',
    `1.  FAIL  Is the process up?  [Emergency Procedures › Gateway Unresponsive]`,
    `${pad}${why}`,
    pid === undefined
      ? `${pad}· ${pidFilePath(config.stateDir)} names no running gateway (no file, a process gone, or another program): the gateway is not running`
      : `${pad}· ${pidFilePath(config.stateDir)}: PID ${pid} is alive but its admin API (${client.baseUrl}) does not answer: it is stuck`,
    ...(stuck ? [`${pad}· ${stuck.summary}`] : []),
    `${pad}$ ps aux | grep claudefs-gateway    # runbook`,
    ...next.map((c) => `${pad}$ ${c}`),
    ...(stuck ? [`${pad}note: ${stuck.restart}`] : []),
    '',
    `conclusion: FAIL — ${
      pid === undefined
        ? 'the gateway is not running'
        : `the gateway (PID ${pid}) is running but does not answer${stuck ? `: ${stuck.summary}` : ''}`
    }`,
  ];
  return { stdout: `${lines.join('\n')}\n`, stderr: '', exitCode: 1 };
}

/**
 * Runs one tree on the running gateway (`POST /admin/diagnostics/run`, or `…/bundle` with
 * --bundle) and prints the transcript. Exit 0 when the conclusion is pass or warn, 1 when it
 * fails, 2 for a request the tree cannot use.
 */
export async function diagnoseCommand(
  config: GatewayConfig,
  tree: DiagnosticTreeId,
  o: DiagnoseOptions,
  clientFor: (timeoutMs: number) => AdminClient = (timeoutMs) => AdminClient.forConfig(config, { timeoutMs }),
): Promise<CommandOutput> {
  const timeoutMs = o.timeoutMs ?? (tree === 'unresponsive' ? 15_000 : 150_000);
  const client = clientFor(timeoutMs);
  const body = request(tree, o);
  let run: DiagnosticRun;
  let bundle: SupportBundle | undefined;
  try {
    if (o.bundle !== undefined) {
      bundle = await client.post<SupportBundle>('/admin/diagnostics/bundle', body);
      run = bundle.runs[0]!;
    } else {
      run = await client.post<DiagnosticRun>('/admin/diagnostics/run', body);
    }
  } catch (e) {
    if (e instanceof AdminApiError) {
      if (e.status === 400 || e.status === 404) throw new CliExit(`diagnose ${tree}: ${e.message}`, 2);
      throw e;
    }
    if (tree === 'unresponsive' && e instanceof CliExit) {
      return notAnswering(config, client, e instanceof GatewayUnreachable ? e.plain : e.message);
    }
    throw e;
  }
  let stderr = '';
  if (bundle && o.bundle !== undefined) {
    writeFileSync(o.bundle, `${JSON.stringify(bundle, null, 2)}\n`, { mode: 0o600 });
    stderr = `support bundle written to ${o.bundle}: health, metrics, redacted config, ${bundle.logs.length} log lines, this run\n`;
  }
  const stdout = o.json ? `${JSON.stringify(run, null, 2)}\n` : renderRun(run);
  return { stdout, stderr, exitCode: run.conclusion.verdict === 'fail' ? 1 : 0 };
}

function wholeNumber(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) > 2 ** 31 - 2)
      throw new InvalidArgumentError(`${flag} must be a whole number`);
    return Number(v);
  };
}

export function registerDiagnose(program: Command): void {
  program
    .command('diagnose')
    .description("run one of the runbook's troubleshooting trees against the running gateway")
    .argument('[tree]', TREE_IDS.join(' | '))
    .option('--list', 'list the trees and what each needs')
    .option('--uid <n>', 'client uid (quota, access)', wholeNumber('--uid'))
    .option('--gid <n>', 'client gid (quota, access)', wholeNumber('--gid'))
    .option('--path <path>', 'namespace path (access, inconsistency) or share (smb-access)')
    .option('--user <name>', 'S3/SMB user name or S3 access key id (access, smb-access)')
    .option('--json', 'print the run as JSON')
    .option('--bundle <file>', 'also write a support bundle (JSON) to this file')
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .action((tree: string | undefined, opts: DiagnoseOptions & { list?: boolean; config?: string }) =>
      runCli(async () => {
        if (opts.list) {
          process.stdout.write(await listTrees(opts.json));
          return 0;
        }
        if (tree === undefined) throw new CliExit(`name a tree: ${TREE_IDS.join(', ')} (or --list)`, 2);
        if (!(TREE_IDS as readonly string[]).includes(tree)) {
          throw new CliExit(`unknown tree '${tree}': choose ${TREE_IDS.join(', ')}`, 2);
        }
        const { config } = await loadOperatorConfig(opts.config);
        const out = await diagnoseCommand(config, tree as DiagnosticTreeId, opts);
        process.stdout.write(out.stdout);
        process.stderr.write(out.stderr);
        return out.exitCode;
      }),
    );
}
