import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { GatewayConfig } from '../../config/types.ts';
import { type FsckProgress, runFsck } from '../../storage/fsck/index.ts';
import { CliExit, loadCliConfig, runCli } from '../context.ts';
import { humanFsckReport } from '../format/fsck-report.ts';
import type { CommandOutput } from '../format/output.ts';

/** What fsck works on: the embedded metadata database, the blob folder and the state folder. */
export interface FsckTarget {
  dbFile: string;
  dataDir: string;
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

/** fsck checks the embedded stores only: SQLite metadata and a local blob folder. */
export function fsckTarget(config: GatewayConfig): FsckTarget {
  if (config.metadata.kind !== 'sqlite') {
    throw new CliExit(
      'fsck: only the embedded SQLite metadata store can be checked (metadata.url is not sqlite://)',
      2,
    );
  }
  if (config.transport.kind !== 'file') {
    throw new CliExit('fsck: only a local data folder can be checked (transport.url is not file://)', 2);
  }
  return { dbFile: config.metadata.path, dataDir: config.transport.path, stateDir: config.stateDir };
}

/**
 * Runs fsck and renders its report. Exit status: 0 clean (or, with --repair, every problem
 * repaired), 1 problems remain, 2 fsck could not run.
 */
export async function fsckCommand(target: FsckTarget, o: FsckCommandOptions): Promise<CommandOutput> {
  const bar = o.progressStream ? progressBar(o.progressStream) : undefined;
  try {
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
      'check the namespace metadata against itself and the data folder; --repair fixes what is safe',
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
        const out = await fsckCommand(fsckTarget(config), {
          ...(path === undefined ? {} : { path }),
          repair: opts.repair === true,
          json: opts.json === true || !process.stdout.isTTY,
          ...(process.stderr.isTTY ? { progressStream: process.stderr } : {}),
        });
        process.stdout.write(out.stdout);
        process.stderr.write(out.stderr);
        return out.exitCode;
      }),
    );
}
