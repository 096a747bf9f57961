import { formatProblem } from '../../../config/problems.ts';
import { loadConfigDespiteTls } from '../../certs/lenient-config.ts';
import { fail, type PreflightResult, pass } from '../../preflight/result.ts';
import { runPreflight } from '../../preflight/run.ts';
import type { DiagnosisContext, DiagnosticTree, StepOutcome, TreeStep } from '../engine.ts';
import { whileRunning } from './backend.ts';
import { commands, RUNBOOK } from './common.ts';

/**
 * The Day-1 checklist, item by item, from `runPreflight` — the same checks as
 * `./cfs gateway preflight`, run inside the gateway against the file it was started with.
 */
const results = (ctx: DiagnosisContext) =>
  ctx.memo<PreflightResult[]>('preflight', async () => {
    const loaded = await loadConfigDespiteTls(ctx.gw.config.configFile);
    if (!loaded.config) {
      return loaded.problems
        .filter((p) => p.severity === 'error')
        .map((p) => fail('configuration', formatProblem(p)));
    }
    // The token question is the caller's (below), not this process's environment.
    const all = await runPreflight(loaded.config, loaded.problems, { adminToken: undefined });
    return all.map((r) => (r.item === 'metadata' || r.item === 'transport' ? whileRunning(ctx.gw, r) : r));
  });

type Pick = (r: PreflightResult) => boolean;

function verdictOf(rs: PreflightResult[]): StepOutcome['verdict'] {
  if (rs.some((r) => r.verdict === 'FAIL')) return 'fail';
  if (rs.some((r) => r.verdict === 'WARN')) return 'warn';
  return 'pass';
}

function outcome(rs: PreflightResult[], what: string): StepOutcome {
  const verdict = verdictOf(rs);
  const bad = rs.filter((r) => r.verdict !== 'PASS');
  const line = (r: PreflightResult) => `${r.verdict} ${r.item}: ${r.message}`;
  return {
    outcome: verdict,
    verdict,
    summary:
      bad.length > 0
        ? bad.map((r) => `${r.item}: ${r.message}`).join('; ')
        : `${what}: ${rs.map((r) => r.message).join('; ') || 'nothing to check'}`,
    because: `${rs.filter((r) => r.verdict === 'PASS').length} passed, ${rs.filter((r) => r.verdict === 'WARN').length} warnings, ${rs.filter((r) => r.verdict === 'FAIL').length} failed`,
    measured: { results: rs.map((r) => ({ ...r })) },
    evidence: rs.map(line),
    ...(bad.length > 0 ? { finding: bad.map((r) => `${r.item}: ${r.message}`).join('; ') } : {}),
  };
}

/** One checklist step: the preflight items `pick` selects. */
function item(
  id: string,
  title: string,
  section: string,
  quote: string,
  pick: Pick,
  next: string | null,
  cmds: string[],
  product: string[],
): TreeStep {
  return {
    id,
    title,
    kind: 'check',
    runbook: { section, quote },
    description: `${quote} (as ./cfs gateway preflight checks it)`,
    branches: { pass: next, warn: next, fail: next },
    commands: commands(cmds, product),
    async run(ctx) {
      return outcome((await results(ctx)).filter(pick), title);
    },
  };
}

const starts =
  (...prefixes: string[]): Pick =>
  (r) =>
    prefixes.some((p) => r.item === p || r.item.startsWith(`${p} `));

export const preflightTree: DiagnosticTree = {
  id: 'preflight',
  title: 'Day-1 checklist',
  runbook: { section: RUNBOOK.day1 },
  summary:
    'Every item of the pre-deployment checklist against the running gateway’s configuration file: configuration, ports, DNS, state folder, metadata, transport, admin token, certificates.',
  inputs: [],
  start: 'configuration',
  steps: [
    item(
      'configuration',
      'Configuration file',
      RUNBOOK.day1Config,
      'Validate configuration file',
      starts('configuration'),
      'ports',
      ['./cfs gateway validate-config --config /etc/claudefs/gateway.yaml'],
      [],
    ),
    item(
      'ports',
      'Required ports',
      RUNBOOK.day1Networking,
      'All required ports are available: NFS 2049, MOUNT 20048, S3 9000, SMB 445, Health 8080',
      starts('port'),
      'dns',
      ["netstat -tuln | grep -E '(2049|20048|9000|445|8080)'"],
      ['./cfs diagnose connection  # TCP connect to each listener'],
    ),
    item(
      'dns',
      'DNS resolution',
      RUNBOOK.day1Networking,
      'DNS resolution works for metadata server hostnames and the gateway hostname',
      starts('dns'),
      'state-folder',
      ['getent hosts <name>'],
      [],
    ),
    item(
      'state-folder',
      'State folder',
      RUNBOOK.day1Dependencies,
      'The state folder (control plane, PID file) is writable',
      starts('state folder'),
      'metadata',
      [],
      [],
    ),
    item(
      'metadata',
      'A2 metadata service',
      RUNBOOK.day1Dependencies,
      'A2 metadata service is running and healthy',
      starts('metadata'),
      'transport',
      ['curl http://meta-1:8080/health'],
      ['./cfs diagnose backend'],
    ),
    item(
      'transport',
      'A4 transport',
      RUNBOOK.day1Dependencies,
      'A4 transport layer is accessible',
      starts('transport'),
      'admin-token',
      ['curl http://transport-1:8080/health'],
      ['./cfs diagnose backend'],
    ),
    {
      id: 'admin-token',
      title: 'Authentication token',
      kind: 'check',
      runbook: { section: RUNBOOK.day1Dependencies, quote: 'Authentication token is valid' },
      description:
        'The credential this request came with was checked by the gateway on the way in; an in-process caller gets the environment check.',
      branches: { pass: 'certificates', warn: 'certificates', fail: 'certificates' },
      commands: commands([], ['./cfs admin token list', 'export CFS_ADMIN_TOKEN=…']),
      async run(ctx) {
        const by = ctx.ranBy;
        if (by?.startsWith('token:')) {
          return outcome(
            [
              pass(
                'admin token',
                `this request's admin token '${by.slice(6)}' is valid (checked by the gateway on the way in)`,
              ),
            ],
            'admin token',
          );
        }
        if (by === 'loopback') {
          return outcome(
            [
              pass(
                'admin token',
                'no token: ./cfs on this host is trusted over loopback (admin.trust_loopback)',
              ),
            ],
            'admin token',
          );
        }
        if (by?.startsWith('console:')) {
          return outcome(
            [
              pass(
                'admin token',
                `signed in to the console as ${by.slice(8)}; ./cfs needs $CFS_ADMIN_TOKEN or loopback trust`,
              ),
            ],
            'admin token',
          );
        }
        return outcome((await results(ctx)).filter(starts('admin token')), 'admin token');
      },
    },
    {
      ...item(
        'certificates',
        'TLS certificates',
        RUNBOOK.day1Tls,
        'For S3 with HTTPS: certificate, key and validity',
        (r) => r.item === 'certificates' || r.item.startsWith('s3.tls'),
        null,
        ['openssl x509 -in cert.pem -text -noout'],
        ['./cfs cert status', './cfs diagnose connection'],
      ),
      async run(ctx) {
        const all = await results(ctx);
        const o = outcome(
          all.filter((r) => r.item === 'certificates' || r.item.startsWith('s3.tls')),
          'TLS certificates',
        );
        const failed = all.filter((r) => r.verdict === 'FAIL').length;
        const warned = all.filter((r) => r.verdict === 'WARN').length;
        return {
          ...o,
          conclusion: `Day-1 checklist: ${all.filter((r) => r.verdict === 'PASS').length} passed, ${warned} warning${warned === 1 ? '' : 's'}, ${failed} failed`,
        };
      },
    },
  ],
};
