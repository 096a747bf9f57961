import type { Command } from 'commander';
import { S3_LIFECYCLE_PATH, S3_LIFECYCLE_RUN_PATH } from '../../protocols/s3/admin-route.ts';
import type { LifecycleStatus, SweepReport } from '../../protocols/s3/lifecycle/sweeper.ts';
import { formatSize } from '../../util/units.ts';
import { AdminApiError, AdminClient, loadOperatorConfig } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';
import { alignColumns } from '../format/columns.ts';
import { timeoutOption } from '../format/timeout-option.ts';

const CONFIG_HELP = 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)';

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** `3 objects expired (1.5 MiB freed), 1 incomplete upload aborted in 12 ms` and one line per bucket. */
export function formatSweep(r: SweepReport): string {
  const lines = [
    `${plural(r.expired, 'object')} expired (${formatSize(BigInt(r.freedBytes))} freed), ${plural(r.aborted, 'incomplete upload')} aborted, ${plural(r.buckets.length, 'bucket')} with rules, in ${r.ms} ms (started ${r.started})`,
  ];
  if (r.buckets.length > 0) {
    const problems = r.buckets.some((b) => b.error !== undefined);
    const rows = [
      ['Bucket', 'Expired', 'Freed', 'Uploads aborted', ...(problems ? ['Problem'] : [])],
      ...r.buckets.map((b) => [
        b.bucket,
        String(b.expired),
        formatSize(BigInt(b.freedBytes)),
        String(b.aborted),
        ...(problems ? [b.error ?? ''] : []),
      ]),
    ];
    for (const line of alignColumns(rows, ['left', 'right', 'right', 'right']))
      lines.push(`  ${line}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

/** Every bucket's rules, then the last and the next sweep. */
export function formatLifecycle(s: LifecycleStatus): string {
  const out: string[] = [];
  if (s.buckets.length === 0) out.push('No bucket has lifecycle rules.');
  else {
    const rows = s.buckets.flatMap((b) =>
      b.rules.map((r) => [b.bucket, r.id, r.enabled ? 'Enabled' : 'Disabled', r.summary]),
    );
    for (const line of alignColumns([['Bucket', 'Rule', 'Status', 'Does'], ...rows], [])) out.push(line);
  }
  out.push('');
  out.push(
    s.lastSweep ? `Last sweep: ${formatSweep(s.lastSweep).trimEnd()}` : 'Last sweep: none since start',
  );
  out.push(
    `Next sweep: ${s.sweeping ? 'a sweep is running now' : (s.nextSweep ?? 'none scheduled (s3.lifecycle_interval: 0; `./cfs s3 lifecycle run` sweeps)')}`,
  );
  return `${out.join('\n')}\n`;
}

function noS3(e: unknown): never {
  if (e instanceof AdminApiError && e.status === 404)
    throw new CliExit('the running gateway serves no S3 (start it with `./cfs gateway start s3`)', 1);
  throw e;
}

export function registerS3(program: Command): void {
  const s3 = program.command('s3').description('S3 bucket lifecycle rules and their sweeps');
  s3.command('lifecycle')
    .description(
      "every bucket's lifecycle rules (set over S3), the last sweep and the next; `run`: sweep now — expire the objects and abort the uploads whose time has come (operator)",
    )
    .argument('[action]', 'run: sweep now')
    .option('--json', 'print as JSON')
    .option('--timeout <duration>', 'run: how long to wait for the sweep', '10m')
    .option('--config <file>', CONFIG_HELP)
    .action((action: string | undefined, opts: { json?: boolean; timeout: string; config?: string }) =>
      runCli(async () => {
        if (action !== undefined && action !== 'run')
          throw new CliExit(
            `unknown action "${action}": \`./cfs s3 lifecycle\` shows the rules, \`./cfs s3 lifecycle run\` sweeps now`,
            2,
          );
        const { config } = await loadOperatorConfig(opts.config);
        if (action === undefined) {
          const status = await AdminClient.forConfig(config)
            .get<LifecycleStatus>(S3_LIFECYCLE_PATH)
            .catch(noS3);
          process.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatLifecycle(status));
          return 0;
        }
        const timeoutMs = timeoutOption(opts.timeout);
        const report = await AdminClient.forConfig(config, { timeoutMs })
          .post<SweepReport>(S3_LIFECYCLE_RUN_PATH)
          .catch(noS3);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatSweep(report));
        return report.buckets.some((b) => b.error !== undefined) ? 1 : 0;
      }),
    );
}
