import type { SmbFileClosed, SmbSessionEnded } from '@claudefs/api';
import type { Command } from 'commander';
import type { GatewayConfig, SmbEncryption } from '../../config/types.ts';
import { SMB_CLOSE_PATH, SMB_END_SESSION_PATH, SMB_STATUS_PATH } from '../../protocols/smb/admin-paths.ts';
import { MAX_V2_TIMEOUT_MS } from '../../protocols/smb/durable.ts';
import { shareEncryption } from '../../protocols/smb/encryption.ts';
import type { SmbStatus } from '../../protocols/smb/status-report.ts';
import { formatDuration, formatSize } from '../../util/units.ts';
import { AdminApiError, AdminClient, loadOperatorConfig, notFoundInOwnWords } from '../admin-client.ts';
import { CliExit, runCli } from '../context.ts';
import { alignColumns } from '../format/columns.ts';
import { LOCK_COLUMNS, lockRow } from '../format/locks.ts';

const CONFIG_HELP = 'configuration file (else $CFS_CONFIG, else /etc/claudefs/gateway.yaml)';

/** `./cfs smb status`: the runbook's `smbstatus -L` — sessions, tree connects, open files, locks. */
export function formatSmbStatus(s: SmbStatus): string {
  const out: string[] = [];
  const section = (title: string, head: string[], rows: string[][]) => {
    out.push(title, '');
    if (rows.length === 0) out.push('  (none)');
    else for (const line of alignColumns([head, ...rows], [])) out.push(`  ${line}`);
    out.push('');
  };
  section(
    'Sessions',
    ['Session', 'Username', 'UID', 'GID', 'Machine', 'Protocol', 'Signing', 'Encryption', 'Since'],
    s.sessions.map((x) => [
      x.session,
      x.user,
      String(x.uid),
      String(x.gid),
      x.remote,
      x.apple ? `${x.dialect} +AAPL` : x.dialect,
      x.signing ? 'required' : 'if asked',
      x.encryption,
      x.since,
    ]),
  );
  section(
    'Tree connects',
    ['Session', 'Service', 'TreeId', 'Connected at'],
    s.trees.map((t) => [t.session, t.share, String(t.treeId), t.since]),
  );
  section(
    'Open files',
    ['Session', 'FileId', 'Kind', 'Access', 'Oplock', 'Share', 'Name', 'Since'],
    s.openFiles.map((o) => [o.session, o.fileId, o.kind, o.access, o.caching, o.share, o.path, o.since]),
  );
  if (s.elsewhere.length > 0) {
    section(
      'Held through other nodes',
      ['Node', 'Oplock', 'Readers', 'Writers', 'Deleters', 'Denies', 'Name'],
      s.elsewhere.map((e) => [
        e.node,
        e.caching,
        String(e.readers),
        String(e.writers),
        String(e.deleters),
        e.denies || '-',
        e.path ?? `inode ${e.ino}`,
      ]),
    );
  }
  section('Byte-range locks', LOCK_COLUMNS, s.locks.map(lockRow));
  return `${out.join('\n').trimEnd()}\n`;
}

export interface ShareSettings {
  global: Record<string, string | number | boolean>;
  shares: Array<Record<string, string | number | boolean | string[]>>;
}

const ENCRYPTION_MEANS: Record<SmbEncryption, string> = {
  off: 'not offered; a client that requires it cannot connect',
  if_required: 'offered, the client decides; SMB 3.x: AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM',
  desired: 'SMB 3.x sessions encrypt; a client that cannot still connects, unencrypted',
  required: 'every session encrypts; a client that cannot is refused',
};

/** The effective share settings of a configuration (the runbook's `testparm -s`). */
export function smbShareSettings(config: GatewayConfig): ShareSettings {
  const smb = config.smb;
  return {
    global: {
      enabled: smb.enabled,
      bind: smb.bind.text,
      domain: smb.domain,
      workgroup: smb.workgroup,
      'server signing': smb.requireSigning ? 'mandatory' : 'default (signed when the client asks)',
      'server smb encrypt': `${smb.encryption} (${ENCRYPTION_MEANS[smb.encryption]})`,
      'server min protocol': 'SMB2_02',
      'server max protocol': 'SMB3_11',
      'ntlm auth': 'ntlmv2-only',
      'map to guest': smb.mapToGuest === 'bad_user' ? 'Bad User (guests run as 65534:65534)' : 'Never',
      'multicast dns register': smb.mdns ? 'Yes' : 'No',
      'durable handle timeout': `${formatDuration(smb.durableHandleTimeoutMs)} (a v2 client may ask for up to ${formatDuration(MAX_V2_TIMEOUT_MS)})`,
      'oplock break timeout': `${formatDuration(smb.breakTimeoutMs)} (then an unanswered oplock or lease is taken)`,
    },
    shares: [
      ...smb.shares.map((s) => ({
        name: s.name,
        path: s.path,
        'read only': s.readOnly,
        'valid groups': s.validGroups.length > 0 ? s.validGroups : 'any authenticated user',
        'guest ok': s.guestOk,
        'hosts allow': s.hostsAllow.length > 0 ? s.hostsAllow.map((c) => c.text).join(' ') : 'any host',
        'apple extensions': s.appleExtensions,
        'convert appledouble': s.appleExtensions && s.convertAppleDouble,
        'time machine': !s.timeMachine
          ? false
          : s.timeMachineMaxSize === undefined
            ? 'Yes (as large as the disk)'
            : `Yes (at most ${formatSize(BigInt(s.timeMachineMaxSize), s.timeMachineMaxSize >= 2 ** 40 ? 'TiB' : 'GiB')})`,
        'smb encrypt':
          s.encryption !== undefined && shareEncryption(smb.encryption, s.encryption) !== smb.encryption
            ? `${s.encryption} (this share's encryption)`
            : `${smb.encryption} (as the server)`,
        'root mode': s.mode.toString(8).padStart(4, '0'),
        'root owner': `${s.ownerUid}:${s.ownerGid}`,
      })),
      {
        name: 'IPC$',
        path: '(pipes: srvsvc)',
        'read only': true,
        'valid groups': 'any authenticated user',
        'guest ok': smb.mapToGuest === 'bad_user',
      },
    ],
  };
}

export function formatShareSettings(s: ShareSettings, file: string): string {
  const lines = [`# Effective SMB settings from ${file}`, '', '[global]'];
  for (const [k, v] of Object.entries(s.global)) lines.push(`\t${k} = ${String(v)}`);
  for (const share of s.shares) {
    lines.push('', `[${share.name}]`);
    for (const [k, v] of Object.entries(share)) {
      if (k === 'name') continue;
      lines.push(
        `\t${k} = ${Array.isArray(v) ? v.map((g) => `@${g}`).join(' ') : typeof v === 'boolean' ? (v ? 'Yes' : 'No') : v}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function registerSmb(program: Command): void {
  const smb = program
    .command('smb')
    .description('SMB sessions (and ending one), open files (and closing one) and share settings');
  smb
    .command('status')
    .description(
      'sessions, tree connects, open files and byte-range locks of the running gateway (smbstatus -L)',
    )
    .option('--json', 'print the status as JSON')
    .option('--config <file>', CONFIG_HELP)
    .action((opts: { json?: boolean; config?: string }) =>
      runCli(async () => {
        const { config } = await loadOperatorConfig(opts.config, { addressOnly: true });
        let status: SmbStatus;
        try {
          status = await AdminClient.forConfig(config).get<SmbStatus>(SMB_STATUS_PATH);
        } catch (e) {
          if (e instanceof AdminApiError && e.status === 404)
            throw new CliExit(
              'the running gateway serves no SMB (start it with `./cfs gateway start smb`)',
              1,
            );
          throw e;
        }
        process.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatSmbStatus(status));
        return 0;
      }),
    );
  smb
    .command('close')
    .description(
      "close a client's open file as Windows' `net file ID /close` does (operator): its locks, share mode and lease go at once; the client loses what it had not written back",
    )
    .argument('<session>', 'the session as `./cfs smb status` lists it (0x…, or "disconnected (durable)")')
    .argument('<fileId>', 'the FileId as `./cfs smb status` lists it (0x…)')
    .option('--json', 'print the result as JSON')
    .option('--config <file>', CONFIG_HELP)
    .action((session: string, fileId: string, opts: { json?: boolean; config?: string }) =>
      runCli(async () => {
        const { config } = await loadOperatorConfig(opts.config, { addressOnly: true });
        const closed = await AdminClient.forConfig(config)
          .post<SmbFileClosed>(SMB_CLOSE_PATH, { session, fileId })
          .catch(notFoundInOwnWords);
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(closed, null, 2)}\n`
            : `Closed ${closed.path} (session ${session}, FileId ${fileId}).\n`,
        );
        return 0;
      }),
    );
  smb
    .command('end-session')
    .description(
      "end a client's SMB session as Windows' `net session /delete` does (operator): its open files close with their locks and leases, and the client must sign in again",
    )
    .argument('[session]', 'the session as `./cfs smb status` lists it (0x…)')
    .option(
      '--user <name>',
      'end every session of this user (sessions of a disabled or removed user end by themselves within 5 s)',
    )
    .option('--json', 'print the sessions ended as JSON')
    .option('--config <file>', CONFIG_HELP)
    .action((session: string | undefined, opts: { user?: string; json?: boolean; config?: string }) =>
      runCli(async () => {
        if ((session === undefined) === (opts.user === undefined))
          throw new CliExit('name one session (0x… as ./cfs smb status lists it) or --user NAME', 2);
        const { config } = await loadOperatorConfig(opts.config, { addressOnly: true });
        const ended = await AdminClient.forConfig(config)
          .post<SmbSessionEnded[]>(
            SMB_END_SESSION_PATH,
            session !== undefined ? { session } : { user: opts.user },
          )
          .catch(notFoundInOwnWords);
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(ended, null, 2)}\n`
            : ended
                .map(
                  (e) =>
                    `Ended session ${e.session} of ${e.user} from ${e.remote} (${e.openFiles} open ${e.openFiles === 1 ? 'file' : 'files'} closed).\n`,
                )
                .join(''),
        );
        return 0;
      }),
    );
  smb
    .command('shares')
    .description('effective share settings from the configuration (testparm -s)')
    .option('--json', 'print the settings as JSON')
    .option('--config <file>', CONFIG_HELP)
    .action((opts: { json?: boolean; config?: string }) =>
      runCli(async () => {
        const { config } = await loadOperatorConfig(opts.config);
        const settings = smbShareSettings(config);
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(settings, null, 2)}\n`
            : formatShareSettings(settings, config.configFile),
        );
        return 0;
      }),
    );
}
