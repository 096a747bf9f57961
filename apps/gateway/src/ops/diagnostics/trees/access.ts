import { exportContaining } from '../../../protocols/mount/exports.ts';
import { effectiveCredential } from '../../../protocols/nfs/v3/exports-view.ts';
import type { Credential } from '../../../storage/types.ts';
import { resolveUserCredential } from '../../identity/credentials.ts';
import { type AccessWalk, credText, walkAccess, walkEvidence, walkMeasured } from '../access-walk.ts';
import type { DiagnosisContext, DiagnosticTree } from '../engine.ts';
import { commands, manual, RUNBOOK } from './common.ts';

interface Identity {
  /** As the client presents it. */
  cred: Credential;
  /** How it was found: `S3/SMB user alice`, `NFS AUTH_SYS uid 1001`. */
  source: string;
  via: 'user' | 'nfs';
}

const IDENTITY = 'identity';
const EFFECTIVE = 'effective-credential';

function walkOf(ctx: DiagnosisContext): Promise<AccessWalk> {
  return ctx.memo('walk', () =>
    walkAccess(ctx.gw, ctx.facts.get(EFFECTIVE) as Credential, ctx.request.path!),
  );
}

export const accessTree: DiagnosticTree = {
  id: 'access',
  title: 'Permission denied (UID/GID mapping)',
  runbook: { section: RUNBOOK.uidGid },
  summary:
    'For a path and a client identity: the NFS export’s squash, then owner, group and mode of every component — search on each directory, read and write on the target — and the exact rule that refuses.',
  inputs: [
    { name: 'path', required: true, help: 'the namespace path the client cannot use (/export/a/f)' },
    { name: 'uid', required: false, help: 'the uid the NFS client sends (`id` on the client)' },
    { name: 'gid', required: false, help: 'its primary gid (default: the account with that uid, if any)' },
    {
      name: 'user',
      required: false,
      help: 'an S3 or SMB user name, or an S3 access key id, instead of --uid',
    },
  ],
  inputRule: 'give --path and either --uid (NFS) or --user (S3/SMB)',
  checkRequest(r) {
    if (!r.path) return 'the access wizard needs the path the client cannot use (--path /export/…)';
    if (!r.path.startsWith('/')) return 'path must be an absolute namespace path (/export/…)';
    if (r.user === undefined && r.uid === undefined)
      return 'the access wizard needs a client identity: --uid N [--gid N] (NFS) or --user NAME (S3/SMB)';
    return undefined;
  },
  start: 'identity',
  steps: [
    {
      id: 'identity',
      title: 'Who is the client?',
      kind: 'check',
      runbook: { section: RUNBOOK.uidGid, quote: 'Check client UID: id' },
      description:
        'An S3/SMB user is resolved as the protocols resolve it (name or access key → uid, gid, groups); an NFS client is the numeric uid/gid it sends.',
      branches: { resolved: 'export-mapping', unknown: null },
      async run(ctx) {
        const { gw, request: r } = ctx;
        if (r.user !== undefined) {
          const u = await resolveUserCredential(gw, r.user);
          if (!u) {
            return {
              outcome: 'unknown',
              verdict: 'fail',
              summary: `no enabled user or active access key '${r.user}'`,
              because: 'the protocols would refuse it at authentication, before any permission check',
              measured: { user: r.user },
              finding: `'${r.user}' is not a known enabled user or active S3 key: ./cfs user list`,
            };
          }
          const cred = { uid: u.uid, gid: u.gid, gids: [...u.gids] };
          ctx.facts.set(IDENTITY, {
            cred,
            source: `${u.accessKeyId ? `S3 key ${u.accessKeyId} of ` : ''}user ${u.name}`,
            via: 'user',
          } satisfies Identity);
          return {
            outcome: 'resolved',
            verdict: 'pass',
            summary: `${r.user} is ${u.name}: ${credText(cred)}`,
            because: 'resolved through the control plane, as S3 and SMB resolve it',
            measured: {
              name: u.name,
              uid: u.uid,
              gid: u.gid,
              gids: [...u.gids],
              accessKey: u.accessKeyId ?? null,
            },
          };
        }
        const uid = r.uid!;
        const account = await gw.control.users.get(uid);
        const gid = r.gid ?? account?.gid;
        if (gid === undefined) {
          return {
            outcome: 'unknown',
            verdict: 'fail',
            summary: `uid ${uid} belongs to no account here, so its gid is unknown`,
            because: 'an NFS client sends its own gid: give it with --gid',
            measured: { uid },
            finding: `give the client's gid too (--gid N): uid ${uid} has no account on the gateway`,
          };
        }
        const gids = account && account.gid === gid ? account.gids.filter((g) => g !== gid) : [];
        const cred = { uid, gid, gids };
        ctx.facts.set(IDENTITY, {
          cred,
          source: `NFS AUTH_SYS uid ${uid} gid ${gid}`,
          via: 'nfs',
        } satisfies Identity);
        const note = account
          ? `uid ${uid} is account ${account.name}${gids.length > 0 ? `; its supplementary groups (${gids.join(',')}) are assumed to be what the client sends` : ''}`
          : `uid ${uid} has no account here: NFSv3 identities are numeric, taken as the client sends them`;
        return {
          outcome: 'resolved',
          verdict: 'pass',
          summary: `NFS client ${credText(cred)}`,
          because: note,
          measured: { uid, gid, gids, account: account?.name ?? null },
          evidence: [note],
        };
      },
    },
    {
      id: 'export-mapping',
      title: 'NFS export mapping (squash)',
      kind: 'check',
      runbook: { section: RUNBOOK.uidGid, quote: 'NFS clients may have different UID/GID mappings' },
      description:
        'The export holding the path maps ids (squash root/all → anon_uid/anon_gid) and may be read-only.',
      branches: { mapped: 'walk', unchanged: 'walk', 'not nfs': 'walk' },
      run(ctx) {
        const id = ctx.facts.get(IDENTITY) as Identity;
        const path = ctx.request.path!;
        if (id.via === 'user') {
          ctx.facts.set(EFFECTIVE, id.cred);
          return {
            outcome: 'not nfs',
            verdict: 'skipped',
            summary: `${id.source}: S3 and SMB act as the user itself, no export mapping`,
            because: 'squash applies to NFS clients only',
            measured: {},
          };
        }
        if (!ctx.gw.config.nfs.enabled) {
          ctx.facts.set(EFFECTIVE, id.cred);
          return {
            outcome: 'unchanged',
            verdict: 'info',
            summary: `NFS is disabled on this gateway: ${credText(id.cred)} is checked as given`,
            because: 'nfs.enabled is false, so no export maps ids',
            measured: { nfsEnabled: false },
          };
        }
        const found = exportContaining(ctx.gw.config.nfs.exports, path);
        if (!found) {
          ctx.facts.set(EFFECTIVE, id.cred);
          return {
            outcome: 'unchanged',
            verdict: 'warn',
            summary: `${path} is in no NFS export: an NFS client cannot reach it at all`,
            because: `no nfs.exports entry contains ${path}`,
            measured: { exports: ctx.gw.config.nfs.exports.map((e) => e.path) },
            finding: `${path} is not inside any NFS export (${ctx.gw.config.nfs.exports.map((e) => e.path).join(', ')})`,
          };
        }
        const exp = found.export;
        const eff = effectiveCredential(exp, {
          flavor: 'sys',
          stamp: 0,
          machine: 'diagnostics',
          uid: id.cred.uid,
          gid: id.cred.gid,
          gids: [...id.cred.gids],
        });
        ctx.facts.set(EFFECTIVE, eff);
        ctx.facts.set('export-ro', exp.access === 'ro');
        const changed =
          eff.uid !== id.cred.uid || eff.gid !== id.cred.gid || eff.gids.join() !== id.cred.gids.join();
        const measured = {
          export: exp.path,
          squash: exp.squash,
          access: exp.access,
          anonUid: exp.anonUid,
          anonGid: exp.anonGid,
          secure: exp.secure,
          effective: { uid: eff.uid, gid: eff.gid, gids: [...eff.gids] },
        };
        const line = `export ${exp.path} (squash ${exp.squash}, ${exp.access}): ${credText(id.cred)} → ${credText(eff)}`;
        const secureLine = exp.secure
          ? [
              `export ${exp.path} is secure: only calls from ports below 1024 (a client's root) are taken; a client run by another user is refused (MNT3ERR_ACCES, NFS3ERR_PERM)`,
            ]
          : [];
        return {
          outcome: changed ? 'mapped' : 'unchanged',
          verdict: exp.access === 'ro' ? 'warn' : changed ? 'info' : 'pass',
          summary: line,
          because: changed
            ? `squash ${exp.squash} maps ${exp.squash === 'all' ? 'every client' : 'root'} to anon ${exp.anonUid}:${exp.anonGid}`
            : `squash ${exp.squash} leaves ${credText(id.cred)} as sent`,
          measured,
          evidence: [line, ...secureLine],
          ...(exp.access === 'ro'
            ? { finding: `export ${exp.path} is read-only: no NFS client may write there` }
            : {}),
        };
      },
    },
    {
      id: 'walk',
      title: 'Owner, mode and effective access along the path',
      kind: 'check',
      runbook: { section: RUNBOOK.uidGid, quote: 'Check file ownership on server: ls -la /export/file' },
      description:
        'Search (x) on every directory from /, then read and write on the target, by the namespace’s own rule: owner bits, else group bits, else other bits.',
      branches: { allowed: null, 'read-only': 'ownership', denied: 'ownership', missing: null },
      async run(ctx) {
        const w = await walkOf(ctx);
        const measured = walkMeasured(w);
        const evidence = [
          ...walkEvidence(w),
          `the namespace's own check for ${credText(w.cred)}: ${w.namespace.resolved ? `resolves, grants ${w.namespace.granted}` : `refuses with ${w.namespace.error}`}${w.agrees ? ' (agrees)' : ' (DISAGREES with the walk)'}`,
        ];
        const who = credText(w.cred);
        if (w.missing) {
          return {
            outcome: 'missing',
            verdict: 'fail',
            summary: w.missing.reason,
            because: `looked up as root: ${w.missing.reason}`,
            measured,
            evidence,
            finding: `${w.missing.reason}: the client gets ENOENT, not a permission error`,
          };
        }
        if (w.searchDenied) {
          const d = w.searchDenied;
          const line = `search (x) denied on ${d.path}: ${d.rule}`;
          return {
            outcome: 'denied',
            verdict: 'fail',
            summary: line,
            because: `${d.class} bits ${d.bits} lack x`,
            measured,
            evidence,
            finding: `${who} cannot reach ${w.path}: ${line}`,
          };
        }
        const t = w.target!;
        const ro = ctx.facts.get('export-ro') === true;
        if (!w.read) {
          const line = `read denied on ${t.path}: ${t.rule}`;
          return {
            outcome: 'denied',
            verdict: 'fail',
            summary: line,
            because: `${t.class} bits ${t.bits} lack r`,
            measured,
            evidence,
            finding: `${who} cannot read ${w.path}: ${t.rule}`,
          };
        }
        if (!w.write || ro) {
          const line =
            ro && w.write
              ? `${t.path} is writable by ${who}, but the export is read-only`
              : `write denied on ${t.path}: ${t.rule}`;
          return {
            outcome: 'read-only',
            verdict: 'warn',
            summary: line,
            because: ro && w.write ? 'export access: ro' : `${t.class} bits ${t.bits} lack w`,
            measured,
            evidence,
            finding: `${who} may read but not write ${w.path}: ${line}`,
          };
        }
        return {
          outcome: 'allowed',
          verdict: 'pass',
          summary: `${who} may read and write ${t.path} (${t.rule})`,
          because: `search granted on every directory; ${t.class} bits ${t.bits} include rw`,
          measured,
          evidence,
          conclusion: `${who} may read and write ${w.path}: the permission bits do not refuse it (a refusal comes from elsewhere: quota, read-only export, a stale client handle)`,
        };
      },
    },
    {
      id: 'ownership',
      title: 'Fix the ownership or the mode',
      kind: 'manual',
      runbook: { section: RUNBOOK.uidGid, quote: 'If mismatch, configure NFSv4 idmapping' },
      description:
        'Make the client’s id the owner or a group member, or widen the mode; NFSv3 identities are numeric, so idmapping does not apply.',
      branches: { done: null },
      commands: commands(
        ['id', 'ls -la /export/file'],
        ['./cfs ls -la /export/file', './cfs stat /export/file'],
      ),
      async run(ctx) {
        const w = await walkOf(ctx);
        const refusing = w.searchDenied ?? w.target!;
        const eff = w.cred;
        return manual(
          `on a client as root: chown ${eff.uid}:${eff.gid} or chmod the refusing component (${refusing.path}, ${refusing.modeText} ${refusing.uid}:${refusing.gid}); or give uid ${eff.uid} the group ${refusing.gid}`,
          commands(
            ['id', `ls -la ${ctx.request.path}`],
            [`./cfs ls -la ${refusing.path}`, `./cfs stat ${refusing.path}`, './cfs user list'],
            'The gateway speaks NFSv3: uids and gids are numeric and taken as the client sends them, so /etc/idmapd.conf (NFSv4) does not apply; per-export squash and anon_uid/anon_gid do.',
          ),
        );
      },
    },
  ],
};
