import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { redactUrl } from '../../config/backend-url.ts';
import type { GatewayConfig } from '../../config/types.ts';
import type { DataStore } from '../../storage/data/data-store.ts';
import type { FsckProgress } from '../../storage/fsck/index.ts';
import { CliExit, loadCliConfig, runCli } from '../context.ts';
import { humanFsckReport } from '../format/fsck-report.ts';
import type { CommandOutput } from '../format/output.ts';

/**
 * What fsck works on: the metadata (the embedded database file, or a PostgreSQL URL), the
 * data (the blob folder, or an object store opened for the check) and the state folder.
 */
export interface FsckTarget {
  dbFile?: string;
  metadataUrl?: string;
  dataDir?: string;
  dataStore?: DataStore;
  dataName?: string;
  /** Holds gateway.pid: --repair refuses while that gateway is alive. */
  stateDir?: string;
}

export interface FsckCommandOptions {
  path?: string;
  repair?: boolean;
  /** JSON report instead of the human one. */
  json?: boolean;
  /** A terminal to draw the progress bar on while scanning. */
  progressStream?: NodeJS.WritableStream;
}

/** The configured stores: embedded (SQLite, blob folder) or scaled out (PostgreSQL, object store). */
export async function fsckTarget(config: GatewayConfig): Promise<FsckTarget> {
  const { metadata, transport } = config;
  const meta = metadata.kind === 'sqlite' ? { dbFile: metadata.path } : { metadataUrl: metadata.url };
  if (transport.kind === 'file') return { ...meta, dataDir: transport.path, stateDir: config.stateDir };
  try {
    const { openS3DataStore } = await import('../../storage/data/s3-blobs.ts');
    const dataStore = await openS3DataStore(transport, config.objectStore);
    return { ...meta, dataStore, dataName: redactUrl(transport.url), stateDir: config.stateDir };
  } catch (e) {
    throw new CliExit(`fsck: cannot open the object store ${transport.url}: ${(e as Error).message}`, 2);
  }
}

/**
 * Runs fsck and renders its report. Exit status: 0 clean (or, with --repair, every problem
 * repaired), 1 problems remain, 2 fsck could not run.
 */
export async function fsckCommand(target: FsckTarget, o: FsckCommandOptions): Promise<CommandOutput> {
  const bar = o.progressStream ? progressBar(o.progressStream) : undefined;
  try {
    // The checker opens the metadata database itself: loaded when it runs, not with `./cfs`.
    const { runFsck } = await import('../../storage/fsck/index.ts');
    const report = await runFsck({
      ...target,
      ...(o.path === undefined ? {} : { path: o.path }),
      repair: o.repair === true,
      ...(bar ? { onProgress: bar } : {}),
    });
    bar?.stop();
    const stdout = o.json
      ? `${JSON.stringify(report, null, 2)}\n`
      : humanFsckReport(report, o.repair === true);
    const allRepaired = o.repair === true && report.repaired.length === report.problems.length;
    return { stdout, stderr: '', exitCode: report.clean || allRepaired ? 0 : 1 };
  } catch (e) {
    bar?.stop();
    return { stdout: '', stderr: `fsck: ${(e as Error).message}\n`, exitCode: 2 };
  }
}

type ProgressSink = ((p: FsckProgress) => void) & { stop(): void };

function progressBar(stream: NodeJS.WritableStream): ProgressSink {
  const bar = new SingleBar({
    stream,
    format: 'fsck {phase} [{bar}] {value}/{total}',
    clearOnComplete: true,
    hideCursor: true,
    barsize: 30,
  });
  let started = false;
  const sink = (p: FsckProgress): void => {
    if (p.total === 0) return;
    const phase = p.phase.padEnd(13);
    if (!started) {
      bar.start(p.total, p.done, { phase });
      started = true;
      return;
    }
    bar.setTotal(p.total);
    bar.update(p.done, { phase });
  };
  return Object.assign(sink, {
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  });
}

export function registerFsck(program: Command): void {
  program
    .command('fsck')
    .description(
      'check the namespace metadata against itself and the file data (SQLite or PostgreSQL; data folder or object store); --repair fixes what is safe on the embedded stores',
    )
    .argument('[path]', 'limit entry, inode and data checks to this namespace path and its subtree')
    .option('--repair', 'fix what is safe to fix (refused while the gateway runs)')
    .option('--json', 'print the report as JSON (the default when stdout is not a terminal)')
    .option('--config <file>', 'configuration file (default: $CFS_CONFIG, then /etc/claudefs/gateway.yaml)')
    .action((path: string | undefined, opts: { repair?: boolean; json?: boolean; config?: string }) =>
      runCli(async () => {
        let config: GatewayConfig;
        try {
          config = await loadCliConfig(opts.config);
        } catch (e) {
          if (e instanceof CliExit) throw e;
          throw new CliExit((e as Error).message, 2);
        }
        const target = await fsckTarget(config);
        let out: CommandOutput;
        try {
          out = await fsckCommand(target, {
            ...(path === undefined ? {} : { path }),
            repair: opts.repair === true,
            json: opts.json === true || !process.stdout.isTTY,
            ...(process.stderr.isTTY ? { progressStream: process.stderr } : {}),
          });
        } finally {
          await target.dataStore?.close();
        }
        process.stdout.write(out.stdout);
        process.stderr.write(out.stderr);
        return out.exitCode;
      }),
    );
}
