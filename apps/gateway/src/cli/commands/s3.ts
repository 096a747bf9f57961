import type { Command } from 'commander';
import {
  S3_BUCKETS_PATH,
  S3_LIFECYCLE_PATH,
  S3_LIFECYCLE_RUN_PATH,
  S3_UPLOADS_PATH,
  s3BucketUsagePath,
  s3UploadAbortPath,
} from '../../protocols/s3/admin-paths.ts';
import type { BucketSummary, BucketUsage } from '../../protocols/s3/buckets.ts';
import type { LifecycleStatus, SweepReport } from '../../protocols/s3/lifecycle/sweeper.ts';
import type { UploadSummary } from '../../protocols/s3/multipart/report.ts';
import { formatRemaining, formatSize } from '../../util/units.ts';
import { AdminApiError, AdminClient, loadOperatorConfig } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';
import { alignColumns } from '../format/columns.ts';
import { plural } from '../format/plural.ts';
import { timeoutOption } from '../format/timeout-option.ts';

const CONFIG_HELP = 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)';

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

/**
 * One line a bucket: owner, created, anonymous access, policy, its own CORS rules, versioning,
 * Object Lock (its default retention), lifecycle, and with usage its objects and bytes and the
 * old versions kept for it.
 */
export function formatBuckets(
  buckets: readonly BucketSummary[],
  usage?: ReadonlyMap<string, BucketUsage>,
): string {
  if (buckets.length === 0) return 'No buckets.\n';
  const head = [
    'Bucket',
    'Owner',
    'Created',
    'Mode',
    'Anonymous',
    'Policy',
    'CORS',
    'Versioning',
    'Object lock',
    'Lifecycle rules',
  ];
  if (usage) head.push('Objects', 'Size', 'Old versions', 'Their size');
  const rows = buckets.map((b) => {
    const row = [
      b.name,
      b.owner ?? `uid ${b.ownerUid}`,
      b.created.slice(0, 19).replace('T', ' '),
      b.mode,
      b.publicRead
        ? 'read'
        : b.policy?.public
          ? 'read (policy)'
          : b.publicAccessBlock.length > 0
            ? 'blocked'
            : '-',
      b.policy ? `${b.policy.statements} statement${b.policy.statements === 1 ? '' : 's'}` : '-',
      b.cors ? `${b.cors.rules} rule${b.cors.rules === 1 ? '' : 's'}` : '-',
      b.versioning ?? '-',
      b.objectLock ? (b.objectLock.defaultRetention ?? 'on, no default') : '-',
      String(b.lifecycle.length),
    ];
    const u = usage?.get(b.name);
    const more = u?.complete === false ? '+' : '';
    if (usage)
      row.push(
        u ? `${u.objects}${more}` : '?',
        u ? formatSize(BigInt(u.bytes)) : '?',
        u ? `${u.versions}${more}` : '?',
        u ? formatSize(BigInt(u.versionBytes)) : '?',
      );
    return row;
  });
  const lines = alignColumns(
    [head, ...rows],
    head.map((_, i) => (i < 9 ? 'left' : 'right')),
  );
  if (usage && [...usage.values()].some((u) => !u.complete))
    lines.push('', '+: counting stopped at its time budget; there are more.');
  return `${lines.join('\n')}\n`;
}

/** Incomplete multipart uploads, the oldest first: whose, where, how old, what they hold. */
export function formatUploads(uploads: readonly UploadSummary[], now = Date.now()): string {
  if (uploads.length === 0) return 'No multipart uploads in progress.\n';
  const rows = uploads.map((u) => [
    u.uploadId,
    `${u.bucket}/${u.key}`,
    u.owner ?? `uid ${u.uid}`,
    u.initiated.slice(0, 19).replace('T', ' '),
    formatRemaining(now - Date.parse(u.lastActivity)),
    String(u.parts),
    formatSize(BigInt(u.bytes)),
  ]);
  const lines = alignColumns(
    [['Upload', 'Object', 'Owner', 'Started', 'Idle for', 'Parts', 'Size'], ...rows],
    ['left', 'left', 'left', 'left', 'right', 'right', 'right'],
  );
  return `${lines.join('\n')}\n`;
}

function noS3(e: unknown): never {
  if (e instanceof AdminApiError && e.status === 404)
    throw new CliExit('the running gateway serves no S3 (start it with `./cfs gateway start s3`)', 1);
  throw e;
}

export function registerS3(program: Command): void {
  const s3 = program.command('s3').description('S3 buckets, incomplete uploads, lifecycle rules and sweeps');
  s3.command('buckets')
    .description(
      'every bucket with its owner, creation, access, versioning, object lock and lifecycle rules; --usage counts objects, old versions and bytes',
    )
    .option(
      '--usage',
      'walk each bucket to count its objects, old versions and bytes (slow on large buckets)',
    )
    .option('--json', 'print as JSON')
    .option('--config <file>', CONFIG_HELP)
    .action((opts: { usage?: boolean; json?: boolean; config?: string }) =>
      runCli(async () => {
        const { config } = await loadOperatorConfig(opts.config);
        const client = AdminClient.forConfig(config, { timeoutMs: 120_000 });
        const buckets = await client.get<BucketSummary[]>(S3_BUCKETS_PATH).catch(noS3);
        let usage: Map<string, BucketUsage> | undefined;
        if (opts.usage) {
          usage = new Map();
          for (const b of buckets) {
            const u = await client.get<BucketUsage>(s3BucketUsagePath(b.name)).catch(() => undefined);
            if (u) usage.set(b.name, u);
          }
        }
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(usage ? buckets.map((b) => ({ ...b, usage: usage.get(b.name) ?? null })) : buckets, null, 2)}\n`
            : formatBuckets(buckets, usage),
        );
        return 0;
      }),
    );
  s3.command('uploads')
    .description(
      'incomplete multipart uploads (their parts hold space and quota); `abort ID` aborts one (operator)',
    )
    .argument('[action]', 'abort: abort the upload ID')
    .argument('[uploadId]', 'the upload to abort')
    .option('--json', 'print as JSON')
    .option('--config <file>', CONFIG_HELP)
    .action(
      (action: string | undefined, uploadId: string | undefined, opts: { json?: boolean; config?: string }) =>
        runCli(async () => {
          if (action !== undefined && action !== 'abort')
            throw new CliExit(
              `unknown action "${action}": \`./cfs s3 uploads\` lists, \`./cfs s3 uploads abort ID\` aborts`,
              2,
            );
          if (action === 'abort' && !uploadId)
            throw new CliExit('name the upload: ./cfs s3 uploads abort ID', 2);
          const { config } = await loadOperatorConfig(opts.config);
          const client = AdminClient.forConfig(config);
          if (action === undefined) {
            const uploads = await client.get<UploadSummary[]>(S3_UPLOADS_PATH).catch(noS3);
            process.stdout.write(
              opts.json ? `${JSON.stringify(uploads, null, 2)}\n` : formatUploads(uploads),
            );
            return 0;
          }
          let gone: { bucket: string; key: string; parts: number; freedBytes: string };
          try {
            gone = await client.post(s3UploadAbortPath(uploadId!));
          } catch (e) {
            if (e instanceof AdminApiError && e.status === 404 && /no multipart upload/.test(e.message))
              throw new CliExit(
                `no multipart upload ${uploadId} in progress (\`./cfs s3 uploads\` lists them)`,
                1,
              );
            noS3(e);
          }
          process.stdout.write(
            opts.json
              ? `${JSON.stringify(gone, null, 2)}\n`
              : `aborted ${uploadId} (${gone.bucket}/${gone.key}): ${gone.parts} part${gone.parts === 1 ? '' : 's'}, ${formatSize(BigInt(gone.freedBytes))} freed\n`,
          );
          return 0;
        }),
    );
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
