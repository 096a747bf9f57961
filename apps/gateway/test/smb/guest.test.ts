import { equal, match, ok } from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { CMD } from '../../src/protocols/smb/constants.ts';
import type { SmbStatus } from '../../src/protocols/smb/status-report.ts';
import { ROOT } from '../../src/storage/types.ts';
import { capturedLog } from '../support/log.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import {
  connectedClient,
  createBody,
  createContexts,
  fileIdOf,
  responseContexts,
  TestClient,
} from './client.ts';
import { reloadWith, type SmbGateway, smbclient, startSmbGateway } from './fixture.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const PUBLIC = '{ name: public, path: /public, guest_ok: true }';
const SESSION_FLAG_IS_GUEST = 0x1;
const SIGNED = 0x8;

/**
 * smb.map_to_guest (Samba's `map to guest = Bad User`) and a share's guest_ok, with Debian's
 * smbclient: anonymous logons and unknown user names become guests (nobody, 65534:65534) who
 * reach only guest_ok shares, and nothing changes for accounts or for a gateway that maps none.
 */
describe('SMB guest access (smb.map_to_guest: bad_user, a share’s guest_ok)', () => {
  let g: SmbGateway;
  let work: string;
  let original: string;
  const { log, lines } = capturedLog();

  before(async () => {
    g = await startSmbGateway({
      shares: [PUBLIC],
      smbExtra: 'map_to_guest: bad_user',
      logLevel: 'info',
      log,
    });
    await g.user('alice', 'Wonder-land1');
    original = readFileSync(g.configFile, 'utf8');
    work = makeTempDir('smb-guest');
    writeFileSync(join(work, 'note.txt'), 'left by a guest\n');
  });
  after(() => g?.stop());

  /** The original file with `from` replaced by `to` (and the pair `also`), reloaded as SIGHUP would. */
  async function reload(from: string, to: string, also?: [string, string]): Promise<void> {
    const text = original.replace(from, to);
    await reloadWith(g, also ? text.replace(also[0], also[1]) : text);
  }

  const run = (auth: string, share: string | undefined, commands?: string, options: string[] = []) =>
    smbclient(g, auth, { share, commands, options, cwd: work });

  test(
    '1 anonymous (-N) and an unknown user name reach a guest_ok share as nobody; what they create is 65534:65534',
    requireTools('smbclient'),
    async () => {
      const anon = await run('', 'public', 'put note.txt anon.txt; ls', ['-N']);
      equal(anon.code, 0, anon.output);
      match(anon.stdout, /anon\.txt/);
      const stranger = await run(
        'nosuchuser%whatever',
        'public',
        'put note.txt stranger.txt; get anon.txt back.txt',
      );
      equal(stranger.code, 0, stranger.output);
      equal(readFileSync(join(work, 'back.txt'), 'utf8'), 'left by a guest\n');
      for (const name of ['anon.txt', 'stranger.txt']) {
        const a = await g.gw.ns.resolvePath(ROOT, `/public/${name}`);
        equal(`${a.uid}:${a.gid}`, '65534:65534', name);
      }
    },
  );

  test(
    '2 a guest is refused at a share without guest_ok; accounts are unchanged (a wrong password still fails)',
    requireTools('smbclient'),
    async () => {
      const anon = await run('', 'export', 'ls', ['-N']);
      ok(anon.code !== 0, anon.output);
      match(anon.output, /tree connect failed: NT_STATUS_ACCESS_DENIED/);
      ok(lines.some((l) => l.includes('export takes no guests (guest_ok is false)')));
      const wrong = await run('alice%not-her-password', 'public', 'ls');
      ok(wrong.code !== 0, wrong.output);
      match(wrong.output, /NT_STATUS_LOGON_FAILURE/);
      const alice = await run('alice%Wonder-land1', 'export', 'ls');
      equal(alice.code, 0, alice.output);
    },
  );

  test('3 the session is flagged a guest (IS_GUEST), is not signed, and ./cfs smb status shows it as guest', async () => {
    const c = new TestClient(g.port);
    await c.connect();
    try {
      await c.negotiate([0x0302]);
      const r = await c.logon('nosuchuser', 'whatever');
      equal(r.status, 0);
      equal(r.body.readUInt16LE(2), SESSION_FLAG_IS_GUEST);
      equal(r.flags & SIGNED, 0, 'the SESSION_SETUP response is not signed: a guest has no key');
      equal((await c.treeConnect('public')).status, 0);
      const status = await runCommand(CFS, ['smb', 'status', '--json', '--config', g.configFile]);
      equal(status.code, 0, status.output);
      const s = JSON.parse(status.stdout) as SmbStatus;
      const mine = s.sessions.find((x) => x.session === `0x${c.sessionId.toString(16)}`);
      ok(mine, status.stdout);
      equal(
        `${mine.user} ${mine.uid}:${mine.gid} signing=${mine.signing}`,
        'guest 65534:65534 signing=false',
      );
    } finally {
      c.close();
    }
  });

  test('3b a guest gets no durable handle: guests share one name, and one could take another’s open back by its FileId', async () => {
    const c = await connectedClient(g.port, 'nosuchuser', 'whatever', {
      share: 'public',
      dialects: [0x0302],
    });
    try {
      const r = await c.request({
        command: CMD.CREATE,
        body: createBody('durable.txt', {
          access: 0x0012019f,
          disposition: 5,
          oplock: 0x09,
          contexts: createContexts([{ name: 'DHnQ', data: Buffer.alloc(16) }]),
        }),
      });
      equal(r.status, 0);
      equal(responseContexts(r).get('DHnQ'), undefined, 'no durable handle for a guest');
      const reconnect = await c.request({
        command: CMD.CREATE,
        body: createBody('durable.txt', {
          access: 0x0012019f,
          disposition: 1,
          oplock: 0x09,
          contexts: createContexts([{ name: 'DHnC', data: Buffer.from(fileIdOf(r)) }]),
        }),
      });
      equal(reconnect.status, 0xc0000034, 'no durable open to reconnect (OBJECT_NAME_NOT_FOUND)');
    } finally {
      c.close();
    }
  });

  test('4 smbclient -L -N lists the shares through IPC$', requireTools('smbclient'), async () => {
    const r = await run('', undefined, undefined, ['-N']);
    equal(r.code, 0, r.output);
    match(r.stdout, /\n\s+public\s+Disk/);
  });

  test('4b a guest may not turn ids into names (lsarpc); a user may', requireTools('rpcclient'), async () => {
    const rpc = (auth: string[]) =>
      runCommand(
        'rpcclient',
        ['127.0.0.1', '-p', String(g.port), ...auth, '-c', 'lookupsids S-1-22-1-3000'],
        {
          cwd: work,
          env: { HOME: work },
        },
      );
    const guest = await rpc(['-U', 'nosuchuser%x']);
    ok(guest.code !== 0, guest.output);
    match(guest.output, /NT_STATUS_ACCESS_DENIED/);
    ok(!/alice/.test(guest.output), guest.output);
    const user = await rpc(['-U', 'alice%Wonder-land1']);
    equal(user.code, 0, user.output);
    match(user.stdout, /Unix User\\alice/);
  });

  test(
    '5 a reload that takes guest_ok away ends a guest’s tree connect; map_to_guest: never refuses guests at logon',
    requireTools('smbclient'),
    async () => {
      const c = new TestClient(g.port);
      await c.connect();
      try {
        await c.negotiate([0x0302]);
        equal((await c.logon('nosuchuser', 'whatever')).status, 0);
        equal((await c.treeConnect('public')).status, 0);
        await reload(PUBLIC, '{ name: public, path: /public }');
        ok(
          lines.some((l) =>
            l.includes('SMB tree connect to public ended by a reload: the share takes no guests now'),
          ),
        );
        equal((await c.treeConnect('public')).status, 0xc0000022);
      } finally {
        c.close();
      }
      await reload('map_to_guest: bad_user', 'map_to_guest: never');
      const anon = await run('', 'public', 'ls', ['-N']);
      ok(anon.code !== 0, anon.output);
      match(anon.output, /NT_STATUS_LOGON_FAILURE/);
      const stranger = await run('nosuchuser%whatever', 'public', 'ls');
      match(stranger.output, /NT_STATUS_LOGON_FAILURE/);
    },
  );

  test('6 ./cfs smb shares shows the guest mapping and which shares take guests', async () => {
    await reload('map_to_guest: bad_user', 'map_to_guest: bad_user');
    const r = await runCommand(CFS, ['smb', 'shares', '--config', g.configFile], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /^\tmap to guest = Bad User \(guests run as 65534:65534\)$/m);
    match(r.stdout, /\[public\][^[]*\tguest ok = Yes/);
    match(r.stdout, /\[export\][^[]*\tguest ok = No/);
  });

  test(
    '7 encryption: desired lets a guest in unencrypted; required refuses it (a guest has no key to encrypt with)',
    requireTools('smbclient'),
    async () => {
      await reload('map_to_guest: bad_user', 'map_to_guest: bad_user, encryption: desired');
      const desired = await run('', 'public', 'ls', ['-N']);
      equal(desired.code, 0, desired.output);
      writeFileSync(
        g.configFile,
        original.replace('map_to_guest: bad_user', 'map_to_guest: bad_user, encryption: required'),
      );
      const refused = await loadConfig(g.configFile, { tls: 'warning' });
      equal(refused.config, undefined, 'guest_ok beside encryption: required is an error');
      match(
        JSON.stringify(refused.problems),
        /a guest session cannot encrypt, and smb.encryption is required/,
      );
      await reload('map_to_guest: bad_user', 'map_to_guest: bad_user, encryption: required', [
        PUBLIC,
        '{ name: public, path: /public }',
      ]);
      const required = await run('', 'public', 'ls', ['-N']);
      ok(required.code !== 0, required.output);
      match(required.output, /NT_STATUS_ACCESS_DENIED/);
      ok(lines.some((l) => l.includes('smb.encryption is required and an anonymous session cannot encrypt')));
    },
  );
});
