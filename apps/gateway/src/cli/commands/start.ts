import type { Command } from 'commander';
import type { OverrideFlags } from '../../config/overrides.ts';
import { HeldSighup } from '../../daemon/held-sighup.ts';
import { runCli } from '../context.ts';

export interface StartOptions extends OverrideFlags {
  config?: string;
}

/** The flags that lay settings over the file, for `start` and for a `preflight` of that start. */
export function startFlags(command: Command): Command {
  return command
    .option('--log-level <level>', 'debug | info | warn | error')
    .option('--bind <host:port>', "the named protocol's listen address")
    .option('--mount-bind <host:port>', 'MOUNT listen address (nfs)')
    .option('--export <path>', 'serve this namespace path over NFS')
    .option('--tls-cert <file>', 'S3 HTTPS certificate (PEM)')
    .option('--tls-key <file>', 'S3 HTTPS private key (PEM)')
    .option('--domain <name>', 'SMB domain')
    .option('--workgroup <name>', 'SMB workgroup');
}

export function registerStart(gateway: Command): void {
  const start = gateway
    .command('start')
    .description('run the gateway: the named protocols, or every enabled one')
    .argument('[protocols...]', 'nfs, s3 and/or smb')
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)');
  startFlags(start).action((names: string[], opts: StartOptions) =>
    runCli(async () => {
      const sighup = new HeldSighup(); // before the gateway's modules load
      return (await import('./start-gateway.ts')).startGateway(names, opts, sighup);
    }),
  );
}
