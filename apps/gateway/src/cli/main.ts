import { Command } from 'commander';
import { registerFsck } from './commands/fsck.ts';
import { registerLs } from './commands/ls.ts';
import { registerStart } from './commands/start.ts';
import { registerStat } from './commands/stat.ts';
import { registerValidateConfig } from './commands/validate-config.ts';

const program = new Command('cfs')
  .description('ClaudeFS Gateway: NFSv3, S3 and SMB over one namespace')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

const gateway = program.command('gateway').description('run and check the gateway daemon');
registerStart(gateway);
registerValidateConfig(gateway);

registerFsck(program);
registerLs(program);
registerStat(program);

await program.parseAsync(process.argv);
