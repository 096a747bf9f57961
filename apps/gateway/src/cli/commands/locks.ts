import type { LocksRelease, LocksReport } from '@claudefs/api';
import type { Command } from 'commander';
import { AdminClient, loadOperatorConfig, notFoundInOwnWords } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';
import { alignColumns } from '../format/columns.ts';
import { LOCK_COLUMNS, lockRow } from '../format/locks.ts';
import { plural } from '../format/plural.ts';

const CONFIG_HELP = 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)';

/** `./cfs locks`: every byte-range lock of the running gateway, NFS clients' and SMB clients'. */
export function formatLocks(r: LocksReport): string {
  const out: string[] = [];
  if (r.locks.length === 0) out.push('No client holds a byte-range lock on this gateway.');
  else out.push(...alignColumns([LOCK_COLUMNS, ...r.locks.map(lockRow)], []));
  if (r.waiting > 0)
    out.push('', `${plural(r.waiting, 'NFS lock request')} waiting for a conflicting lock to go.`);
  if (r.locks.some((l) => l.protocol === 'nfs' && l.node === undefined))
    out.push(
      '',
      'An NFS client that is gone for good keeps its locks until it restarts and says so;',
      'release them with: ./cfs locks release HOLDER',
    );
  return `${out.join('\n')}\n`;
}

export function registerLocks(program: Command): void {
  program
    .command('locks')
    .description(
      "byte-range locks NFS and SMB clients hold on this gateway; `release CLIENT` releases a departed NFS client's locks and waiting requests, as its reboot notice would (operator)",
    )
    .argument('[action]', 'release: release the NFS client CLIENT')
    .argument('[client]', 'the NFS client as `./cfs locks` names it (the host name its lock manager gives)')
    .option('--json', 'print as JSON')
    .option('--config <file>', CONFIG_HELP)
    .action(
      (action: string | undefined, client: string | undefined, opts: { json?: boolean; config?: string }) =>
        runCli(async () => {
          if (action !== undefined && action !== 'release')
            throw new CliExit(
              `unknown action "${action}": \`./cfs locks\` lists, \`./cfs locks release CLIENT\` releases`,
              2,
            );
          if (action === 'release' && !client?.trim())
            throw new CliExit('name the NFS client: ./cfs locks release CLIENT', 2);
          const { config } = await loadOperatorConfig(opts.config, { addressOnly: true });
          const admin = AdminClient.forConfig(config);
          if (action === undefined) {
            const report = await admin.get<LocksReport>('/admin/locks');
            process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatLocks(report));
            return 0;
          }
          const r = await admin
            .post<LocksRelease>('/admin/locks/release', { client })
            .catch(notFoundInOwnWords);
          process.stdout.write(
            opts.json
              ? `${JSON.stringify(r, null, 2)}\n`
              : `Released ${plural(r.released, 'lock')} of NFS client ${r.client} (its applications are not told).\n`,
          );
          return 0;
        }),
    );
}
