import type { Command } from 'commander';
import type { OverrideFlags } from '../../config/overrides.ts';
import { HeldSighup } from '../../daemon/held-sighup.ts';
import { runCli } from '../context.ts';

export interface StartOptions extends OverrideFlags {
  config?: string;
}

export function registerStart(gateway: Command): void {
  gateway
    .command('start')
    .description('run the gateway: the named protocols, or every enabled one')
    .argument('[protocols...]', 'nfs, s3 and/or smb')
    .option('--config <file>', 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)')
    .option('--log-level <level>', 'debug | info | warn | error')
    .option('--bind <host:port>', "the named protocol's listen address")
    .option('--mount-bind <host:port>', 'MOUNT listen address (nfs)')
    .option('--export <path>', 'serve this namespace path over NFS')
    .option('--tls-cert <file>', 'S3 HTTPS certificate (PEM)')
    .option('--tls-key <file>', 'S3 HTTPS private key (PEM)')
    .option('--domain <name>', 'SMB domain')
    .option('--workgroup <name>', 'SMB workgroup')
    .action((names: string[], opts: StartOptions) =>
      runCli(async () => {
        const sighup = new HeldSighup(); // before the gateway's modules load
        return (await import('./start-gateway.ts')).startGateway(names, opts, sighup);
      }),
    );
}
