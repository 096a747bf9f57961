import { Command } from 'commander';
import { gatewayVersion } from '../ops/nodes/version.ts';
import { registerAdmin } from './commands/admin.ts';
import { registerCert } from './commands/cert.ts';
import { registerDiagnose } from './commands/diagnose.ts';
import { registerDrain } from './commands/drain.ts';
import { registerFsck } from './commands/fsck.ts';
import { registerGroup } from './commands/group.ts';
import { registerLocks } from './commands/locks.ts';
import { registerLogLevel } from './commands/log-level.ts';
import { registerLs } from './commands/ls.ts';
import { registerNodes } from './commands/nodes.ts';
import { registerPreflight } from './commands/preflight.ts';
import { registerQuota } from './commands/quota.ts';
import { registerReload } from './commands/reload.ts';
import { registerS3 } from './commands/s3.ts';
import { registerSmb } from './commands/smb.ts';
import { registerStart } from './commands/start.ts';
import { registerStat } from './commands/stat.ts';
import { registerUndrain } from './commands/undrain.ts';
import { registerUser } from './commands/user.ts';
import { registerValidateConfig } from './commands/validate-config.ts';

/**
 * The `./cfs` command tree: every command, its options and arguments, registered with their
 * actions (which load what they need only when run). Built without parsing anything, so the
 * documented command lines can be checked against it (test/repo/documented-commands.test.ts).
 */
export function buildProgram(): Command {
  const program = new Command('cfs')
    .description('ClaudeFS Gateway: NFSv3, S3 and SMB over one namespace')
    .version(
      gatewayVersion(),
      '-V, --version',
      'print the gateway version (and the commit it was built from)',
    )
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });

  const gateway = program.command('gateway').description('run and check the gateway daemon');
  registerStart(gateway);
  registerValidateConfig(gateway);
  registerDrain(gateway);
  registerUndrain(gateway);
  registerPreflight(gateway);
  registerLogLevel(gateway);
  registerReload(gateway);
  registerNodes(gateway);

  registerFsck(program);
  registerLs(program);
  registerStat(program);
  registerSmb(program);
  registerLocks(program);
  registerS3(program);
  registerQuota(program);
  registerUser(program);
  registerGroup(program);
  registerAdmin(program);
  registerCert(program);
  registerDiagnose(program);
  return program;
}
