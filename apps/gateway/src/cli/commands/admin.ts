import type { Command } from 'commander';
import type { Role } from '../../control/index.ts';
import { parseDuration, UnitError } from '../../util/units.ts';
import { CliExit, runCli } from '../context.ts';
import { audited, CONFIG_OPTION, printJson, withControlPlane } from '../format/identity-context.ts';
import { tokenJson, tokensTable, when } from '../format/identity-text.ts';

interface CreateOptions {
  role?: string;
  expires?: string;
  json?: boolean;
  config?: string;
}

async function createToken(name: string, o: CreateOptions): Promise<number> {
  if (o.role === undefined) throw new CliExit('--role is required: viewer, operator or admin', 2);
  let expiresAt: Date | undefined;
  if (o.expires !== undefined) {
    try {
      expiresAt = new Date(Date.now() + parseDuration(o.expires));
    } catch (e) {
      if (!(e instanceof UnitError)) throw e;
      throw new CliExit(`--expires: '${o.expires}' is not a duration (${e.message})`, 2);
    }
  }
  return withControlPlane(o.config, async (cp) => {
    const t = await audited(
      cp,
      'admin.token.create',
      `token:${name}`,
      () => cp.adminTokens.create(name, o.role as Role, expiresAt ? { expiresAt } : {}),
      { role: o.role, expiresAt: expiresAt?.toISOString() ?? null },
    );
    if (o.json) {
      printJson({ ...tokenJson(t), token: t.token });
    } else {
      // The token alone on stdout, so TOKEN=$(./cfs admin token create …) captures it.
      process.stdout.write(`${t.token}\n`);
      process.stderr.write(
        `admin token ${t.name} created (role ${t.role}, ${t.expiresAt ? `expires ${when(t.expiresAt)}` : 'no expiry'}); it is shown only now: store it safely.\n`,
      );
    }
    return 0;
  });
}

async function listTokens(o: { json?: boolean; config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    const tokens = await cp.adminTokens.list();
    if (o.json) printJson(tokens.map((t) => tokenJson(t)));
    else process.stdout.write(tokensTable(tokens));
    return 0;
  });
}

async function revokeToken(name: string, o: { config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    await audited(cp, 'admin.token.revoke', `token:${name}`, () => cp.adminTokens.revoke(name));
    process.stdout.write(`admin token ${name} revoked\n`);
    return 0;
  });
}

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('admin API access');
  const token = admin.command('token').description('bearer tokens for the admin API and tRPC');
  token
    .command('create')
    .description('create a token; it is printed once and only its hash is stored')
    .argument('<name>', 'token name')
    .option('--role <role>', 'viewer, operator or admin')
    .option('--expires <duration>', 'lifetime, e.g. 90d (default: no expiry)')
    .option('--json', 'print as JSON (includes the token)')
    .option(...CONFIG_OPTION)
    .action((name: string, o: CreateOptions) => runCli(() => createToken(name, o)));
  token
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((o: { json?: boolean; config?: string }) => runCli(() => listTokens(o)));
  token
    .command('revoke')
    .description('revoke a token by name')
    .argument('<name>', 'token name')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { config?: string }) => runCli(() => revokeToken(name, o)));
}
