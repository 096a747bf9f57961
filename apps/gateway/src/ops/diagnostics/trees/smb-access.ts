import type { SmbEncryption } from '../../../config/types.ts';
import type { UserRecord } from '../../../control/index.ts';
import { shareEncryption } from '../../../protocols/smb/encryption.ts';
import { inValidGroups, type Share, sharesFrom } from '../../../protocols/smb/tree.ts';
import { resolveUserCredential } from '../../identity/credentials.ts';
import { credText, walkAccess, walkEvidence } from '../access-walk.ts';
import { offer } from '../actions.ts';
import type { Measured, OfferedAction } from '../api.ts';
import type { DiagnosisContext, DiagnosticTree } from '../engine.ts';
import { commands, manual, RUNBOOK } from './common.ts';

const USER = 'smb-user';

/** The refusals the SMB server logs for hosts and encryption: the command and the reason. */
const REFUSAL =
  /^SMB (SESSION_SETUP|TREE_CONNECT) refused: STATUS_ACCESS_DENIED \((.*(?:hosts_allow|requires encryption|smb\.encryption is required).*)\)$/;

/** What a share asks of a client besides its user: hosts, encryption. */
function shareConditions(share: Share, server: SmbEncryption): string[] {
  const out: string[] = [];
  if (share.clients.length > 0) out.push(`hosts_allow ${share.clients.map((c) => c.text).join(', ')}`);
  const level = shareEncryption(server, share.encryption);
  if (level === 'required') out.push('encryption required: SMB 3.x clients with a cipher in common only');
  return out;
}

/** The shares asked about: by name (any case, `\\server\share` too) or by namespace path; all when none given. */
function sharesAsked(ctx: DiagnosisContext): Share[] {
  const all = sharesFrom(ctx.gw.config.smb.shares);
  const asked = ctx.request.path;
  if (asked === undefined) return all;
  const name = asked
    .replace(/^\\\\[^\\]*\\/, '')
    .replace(/\\+$/, '')
    .toUpperCase();
  const byName = all.filter((s) => s.name.toUpperCase() === name);
  if (byName.length > 0) return byName;
  return all.filter((s) => asked === s.path || asked.startsWith(`${s.path}/`));
}

const credentialOf = (ctx: DiagnosisContext) =>
  ctx.memo('smb-cred', async () => {
    const u = ctx.facts.get(USER) as UserRecord;
    // The protocols' resolver: supplementary gids, and host groups when configured.
    const r = await resolveUserCredential(ctx.gw, u.name);
    return r ?? { name: u.name, uid: u.uid, gid: u.gid, gids: u.gids.filter((g) => g !== u.gid) };
  });

const membership = (ctx: DiagnosisContext) =>
  ctx.memo('membership', async () => {
    const cred = await credentialOf(ctx);
    const user = {
      name: cred.name,
      domain: ctx.gw.config.smb.domain,
      uid: cred.uid,
      gid: cred.gid,
      gids: cred.gids,
    };
    return Promise.all(
      sharesAsked(ctx).map(async (share) => ({
        share,
        member: await inValidGroups(share, user, ctx.gw.control, ctx.gw.config.identity.groupsFromHost),
      })),
    );
  });

export const smbAccessTree: DiagnosticTree = {
  id: 'smb-access',
  title: 'SMB access denied',
  runbook: { section: RUNBOOK.smb },
  summary:
    'The user exists and is enabled, has an NT hash (a password), is in the share’s valid_groups, the client is one the share takes (hosts_allow, encryption), and the share’s path lets that user in.',
  inputs: [
    { name: 'user', required: true, help: 'the SMB user name (case does not matter)' },
    {
      name: 'path',
      required: false,
      help: 'a share name or a namespace path inside a share (default: every share)',
    },
  ],
  checkRequest: (r) => (r.user ? undefined : 'the SMB wizard needs the user name (--user NAME)'),
  start: 'user',
  steps: [
    {
      id: 'user',
      title: 'Does the user exist?',
      kind: 'check',
      runbook: { section: RUNBOOK.smb, quote: 'Check valid users: testparm -s' },
      description:
        'The SMB user is a control-plane user, looked up case-insensitively; a disabled user cannot sign in.',
      branches: { exists: 'nt-hash', missing: null, disabled: null },
      async run(ctx) {
        const name = ctx.request.user!.toLowerCase();
        const u = await ctx.gw.control.users.get(name);
        if (!u) {
          return {
            outcome: 'missing',
            verdict: 'fail',
            summary: `no user '${name}'`,
            because: 'SMB sign-in fails with STATUS_LOGON_FAILURE for an unknown user',
            measured: { user: name },
            finding: `there is no user '${name}': ./cfs user add ${name} --password-stdin`,
          };
        }
        ctx.facts.set(USER, u);
        const measured = {
          name: u.name,
          uid: u.uid,
          gid: u.gid,
          groups: [...u.groups],
          disabled: u.disabled,
        };
        if (u.disabled) {
          return {
            outcome: 'disabled',
            verdict: 'fail',
            summary: `user ${u.name} is disabled`,
            because: 'a disabled user cannot sign in',
            measured,
            finding: `user ${u.name} is disabled`,
          };
        }
        return {
          outcome: 'exists',
          verdict: 'pass',
          summary: `${u.name}: uid ${u.uid}, gid ${u.gid}, groups ${u.groups.join(', ') || 'none'}`,
          because: 'the user exists and is enabled',
          measured,
        };
      },
    },
    {
      id: 'nt-hash',
      title: 'NT hash (SMB password)',
      kind: 'check',
      runbook: { section: RUNBOOK.smb, quote: 'smbclient -L //localhost -U username' },
      description: 'NTLM needs the NT hash the gateway stores when a password is set.',
      branches: { set: 'valid-groups', missing: 'set-password' },
      run(ctx) {
        const u = ctx.facts.get(USER) as UserRecord;
        if (!u.hasNtHash) {
          return {
            outcome: 'missing',
            verdict: 'fail',
            summary: `${u.name} has no NT hash: no password was ever set`,
            because: 'without an NT hash NTLM authentication cannot succeed',
            measured: { hasNtHash: false },
            finding: `${u.name} has no SMB password: ./cfs user passwd ${u.name}`,
          };
        }
        return {
          outcome: 'set',
          verdict: 'pass',
          summary: `${u.name} has an NT hash`,
          because: 'a password is set',
          measured: { hasNtHash: true },
        };
      },
    },
    {
      id: 'set-password',
      title: 'Set a password',
      kind: 'manual',
      runbook: { section: RUNBOOK.smb },
      description: 'Setting the password stores the NT hash.',
      branches: { done: 'valid-groups' },
      commands: commands(['smbpasswd -a username'], ['./cfs user passwd username']),
      run(ctx) {
        const u = ctx.facts.get(USER) as UserRecord;
        return manual(
          `set ${u.name}'s password (it also stores the NT hash SMB needs)`,
          commands([`smbpasswd -a ${u.name}`], [`./cfs user passwd ${u.name}`]),
        );
      },
    },
    {
      id: 'valid-groups',
      title: 'Member of the share’s valid_groups?',
      kind: 'check',
      runbook: {
        section: RUNBOOK.smb,
        quote: 'Verify user is in claudefs-users group: getent group claudefs-users',
      },
      description:
        'TREE_CONNECT is refused unless the user is in one of the share’s valid_groups (primary or supplementary gid, host groups when identity.groups_from_host).',
      branches: { member: 'share-conditions', outside: 'add-to-group', 'no share': null },
      async run(ctx) {
        const cred = await credentialOf(ctx);
        const results = await membership(ctx);
        if (results.length === 0) {
          const names = ctx.gw.config.smb.shares.map((s) => `${s.name} (${s.path})`).join(', ');
          return {
            outcome: 'no share',
            verdict: 'fail',
            summary: `no SMB share is named or contains '${ctx.request.path}'`,
            because: `configured shares: ${names || 'none'}`,
            measured: { shares: ctx.gw.config.smb.shares.map((s) => s.name) },
            finding: `no share '${ctx.request.path}': the shares are ${names || 'none'}`,
          };
        }
        const measured: Record<string, Measured> = {
          credential: { uid: cred.uid, gid: cred.gid, gids: [...cred.gids] },
          shares: results.map((r) => ({
            share: r.share.name,
            path: r.share.path,
            validGroups: [...r.share.validGroups],
            member: r.member,
          })),
        };
        const evidence = results.map(
          (r) =>
            `\\\\${ctx.gw.config.smb.domain}\\${r.share.name} (${r.share.path}): valid_groups ${r.share.validGroups.length > 0 ? r.share.validGroups.join(', ') : '(any user)'} → ${r.member ? 'member' : 'NOT a member'}`,
        );
        const outside = results.filter((r) => !r.member);
        if (outside.length > 0) {
          return {
            outcome: 'outside',
            verdict: 'fail',
            summary: outside
              .map(
                (r) =>
                  `${cred.name} is in none of ${r.share.name}'s valid_groups (${r.share.validGroups.join(', ')})`,
              )
              .join('; '),
            because: `${cred.name}'s gids (${[cred.gid, ...cred.gids].join(', ')}) hold none of those groups`,
            measured,
            evidence,
            finding: outside
              .map(
                (r) =>
                  `${cred.name} is in none of ${r.share.name}'s valid_groups (${r.share.validGroups.join(', ')}): TREE_CONNECT is refused`,
              )
              .join('; '),
          };
        }
        return {
          outcome: 'member',
          verdict: 'pass',
          summary: `${cred.name} may connect to ${results.map((r) => r.share.name).join(', ')}`,
          because: 'in a valid group of each share (or the share allows any user)',
          measured,
          evidence,
        };
      },
    },
    {
      id: 'add-to-group',
      title: 'Add the user to the group',
      kind: 'action',
      runbook: { section: RUNBOOK.smb, quote: 'Verify user is in claudefs-users group' },
      description: 'Membership is the control plane’s: adding it takes effect at the next sign-in.',
      branches: { done: 'share-conditions' },
      async run(ctx) {
        const cred = await credentialOf(ctx);
        const outside = (await membership(ctx)).filter((r) => !r.member);
        const groups = [...new Set(outside.map((r) => r.share.validGroups[0]!).filter(Boolean))];
        const actions: OfferedAction[] = groups.map((g) =>
          offer(
            ctx.gw,
            { action: 'group.add-member', user: cred.name, group: g },
            `Add ${cred.name} to ${g}`,
            `Add ${cred.name} to group ${g}? Every share that lists ${g} in valid_groups lets ${cred.name} in from the next sign-in.`,
          ),
        );
        return manual(
          `add ${cred.name} to ${groups.join(' or ')} (or list one of ${cred.name}'s groups in the share's valid_groups)`,
          commands(
            ['testparm -s', ...groups.map((g) => `getent group ${g}`)],
            [
              './cfs gateway validate-config',
              './cfs smb shares',
              ...groups.map((g) => `./cfs group show ${g}`),
              ...actions.map((a) => a.cli),
            ],
            'testparm and getent read Samba’s and the host’s databases; the gateway’s shares and groups are its own (with identity.groups_from_host: true host groups are merged and getent means what it says).',
          ),
          { actions },
        );
      },
    },
    {
      id: 'share-conditions',
      title: 'Hosts and encryption the share asks for',
      kind: 'check',
      runbook: {
        section: RUNBOOK.smb,
        quote: 'Check share permissions: smbclient -L //localhost -U username',
      },
      description:
        'Whoever the user is, a share may take connections only from its hosts_allow and only encrypted (its encryption or smb.encryption: required — SMB 3.x clients with a cipher in common); a client outside them is refused with STATUS_ACCESS_DENIED. The gateway’s recent refusals say which clients were.',
      branches: { none: 'share-permissions', conditions: 'share-permissions', refused: 'share-permissions' },
      async run(ctx) {
        const smb = ctx.gw.config.smb;
        const rows = (await membership(ctx)).map(({ share }) => ({
          share,
          conditions: shareConditions(share, smb.encryption),
        }));
        const refusals = ctx.logs.find((msg) => {
          const m = REFUSAL.exec(msg);
          if (!m) return false;
          // A session refused for encryption applies to every share; a tree connect names its share.
          return m[1] === 'SESSION_SETUP' || rows.some((r) => m[2]!.includes(r.share.name));
        });
        const evidence = [
          ...rows.map(
            (r) =>
              `${r.share.name}: ${r.conditions.length > 0 ? r.conditions.join('; ') : 'any host, encrypted or not'}`,
          ),
          ...refusals.slice(-5).map((l) => `${l.time ? new Date(l.time).toISOString() : ''} ${l.msg}`.trim()),
        ];
        const measured = {
          shares: rows.map((r) => ({
            share: r.share.name,
            hostsAllow: [...r.share.clients.map((c) => c.text)],
            encryption: shareEncryption(smb.encryption, r.share.encryption),
          })),
          recentRefusals: refusals.length,
          watchingSince: new Date(ctx.logs.since).toISOString(),
        };
        if (refusals.length > 0) {
          const reasons = [...new Set(refusals.map((l) => REFUSAL.exec(l.msg)![2]!))];
          return {
            outcome: 'refused',
            verdict: 'fail',
            summary: `${refusals.length} connection${refusals.length === 1 ? ' was' : 's were'} refused recently: ${reasons.join('; ')}`,
            because: 'the share (or the server) takes only the hosts or the encryption it names',
            measured,
            evidence,
            finding: `refused before any permission is checked: ${reasons.join('; ')}`,
          };
        }
        const limited = rows.filter((r) => r.conditions.length > 0);
        if (limited.length > 0)
          return {
            outcome: 'conditions',
            verdict: 'warn',
            summary: limited.map((r) => `${r.share.name}: ${r.conditions.join('; ')}`).join(' · '),
            because: 'a client outside these is refused whoever signs in; none was refused recently',
            measured,
            evidence,
          };
        return {
          outcome: 'none',
          verdict: 'pass',
          summary: 'any host may connect, encrypted or not',
          because: 'no hosts_allow, and encryption is not required',
          measured,
          evidence,
        };
      },
    },
    {
      id: 'share-permissions',
      title: 'Share path permissions for the user',
      kind: 'check',
      runbook: {
        section: RUNBOOK.smb,
        quote: 'Check share permissions: smbclient -L //localhost -U username',
      },
      description:
        'The share root by the namespace’s own rule for that user: search on the way, read and write on the root (a read-only share refuses writes regardless).',
      branches: { ok: null, 'read-only': null, denied: null },
      async run(ctx) {
        const cred = await credentialOf(ctx);
        const c = { uid: cred.uid, gid: cred.gid, gids: [...cred.gids] };
        const shares = (await membership(ctx)).map((r) => r.share);
        const rows = await Promise.all(
          shares.map(async (s) => ({ share: s, walk: await walkAccess(ctx.gw, c, s.path) })),
        );
        const evidence = rows.flatMap((r) => [
          `${r.share.name}${r.share.readOnly ? ' (read_only)' : ''}:`,
          ...walkEvidence(r.walk).map((l) => `  ${l}`),
        ]);
        const measured = {
          credential: { uid: c.uid, gid: c.gid, gids: c.gids },
          shares: rows.map((r) => ({
            share: r.share.name,
            path: r.share.path,
            readOnly: r.share.readOnly,
            read: r.walk.read,
            write: r.walk.write,
            refusedBy: (r.walk.searchDenied ?? (r.walk.read ? undefined : r.walk.target))?.rule ?? null,
          })),
        };
        const denied = rows.filter((r) => !r.walk.read || r.walk.missing);
        if (denied.length > 0) {
          const why = denied
            .map(
              (r) =>
                `${r.share.name}: ${r.walk.missing?.reason ?? (r.walk.searchDenied ?? r.walk.target)!.rule}`,
            )
            .join('; ');
          return {
            outcome: 'denied',
            verdict: 'fail',
            summary: `${cred.name} cannot open the share root: ${why}`,
            because: why,
            measured,
            evidence,
            finding: `${credText(c)} (${cred.name}) is refused by the share path's mode: ${why}`,
          };
        }
        const ro = rows.filter((r) => !r.walk.write || r.share.readOnly);
        if (ro.length > 0) {
          const why = ro
            .map((r) => `${r.share.name}: ${r.share.readOnly ? 'read_only share' : r.walk.target!.rule}`)
            .join('; ');
          return {
            outcome: 'read-only',
            verdict: 'warn',
            summary: `${cred.name} may read but not write: ${why}`,
            because: why,
            measured,
            evidence,
            finding: `${cred.name} cannot write: ${why}`,
          };
        }
        return {
          outcome: 'ok',
          verdict: 'pass',
          summary: `${cred.name} may read and write ${rows.map((r) => r.share.name).join(', ')}`,
          because: 'search, read and write granted on every share root',
          measured,
          evidence,
          conclusion: `${cred.name} exists, has an SMB password, is in each share's valid_groups and may read and write the share roots: check the client's password and domain (smbclient -L //host -U ${cred.name})`,
        };
      },
    },
  ],
};
