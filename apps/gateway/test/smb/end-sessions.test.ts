import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import type { SmbStatus } from '../../src/protocols/smb/status-report.ts';
import { capturedLog } from '../support/log.ts';
import { runCommand } from '../support/proc.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { waitFor } from '../support/wait.ts';
import { connectedClient, createBody, fileIdOf, lockBody, openOk } from './client.ts';
import { type SmbGateway, smbclient, startSmbGateway } from './fixture.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

/**
 * One smbclient kept signed in, fed a command at a time on stdin (it takes one line per read of
 * its input: two lines sent together would leave the second waiting).
 */
class LiveSmbclient {
  private readonly child: ChildProcess;
  output = '';
  exited = false;

  constructor(g: SmbGateway, auth: string) {
    // Unbuffered: smbclient's stdout to a pipe is otherwise written only when it exits.
    const smbclient = toolPath('smbclient') ?? 'smbclient';
    this.child = spawn('stdbuf', ['-o0', smbclient, '-p', String(g.port), '//127.0.0.1/export', '-U', auth], {
      env: { ...process.env, HOME: g.dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const take = (b: Buffer) => {
      this.output += b.toString();
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.child.stdin!.on('error', () => {});
    this.child.once('exit', () => {
      this.exited = true;
    });
  }

  /** Runs `command` once signed in; resolves to what it printed once that matches `until` (or smbclient exited). */
  async run(command: string, until: RegExp): Promise<string> {
    await this.printed(/Try "help"/, 0, 'smbclient to sign in');
    const from = this.output.length;
    if (!this.exited) this.child.stdin!.write(`${command}\n`);
    await this.printed(until, from, `smbclient to answer ${command}`);
    return this.output.slice(from);
  }

  private printed(what: RegExp, from: number, waiting: string): Promise<void> {
    return waitFor(
      () => this.exited || what.test(this.output.slice(from)),
      `${waiting} (it printed: ${this.output.slice(from)})`,
      30_000,
    );
  }

  stop(): void {
    if (!this.exited) this.child.kill();
  }
}

/** What `ls` prints at its end, or the failure it reports. */
const LISTED = /blocks available|NT_STATUS_\w+/;

async function status(g: SmbGateway): Promise<SmbStatus> {
  const r = await runCommand(CFS, ['smb', 'status', '--json', '--config', g.configFile], {
    timeoutMs: 60_000,
  });
  equal(r.code, 0, r.output);
  return JSON.parse(r.stdout) as SmbStatus;
}

const sessionsOf = async (g: SmbGateway, user: string) =>
  (await status(g)).sessions.filter((s) => s.user === user);

describe('SMB sessions ended by an operator, or with their account', () => {
  let g: SmbGateway;
  const cap = capturedLog();
  before(async () => {
    g = await startSmbGateway({ log: cap.log, logLevel: 'info' });
    await g.user('alice', 'Wonder-land1');
    await g.user('bob', 'Builder-2');
    await g.user('carol', 'Sing-along3');
  });
  after(async () => {
    await g?.stop();
  });

  test(
    "1 ./cfs smb end-session 0x…: smbclient's session ends (its next command fails), logged and audited; alice signs in again",
    requireTools('smbclient'),
    async () => {
      const live = new LiveSmbclient(g, 'alice%Wonder-land1');
      try {
        match(await live.run('ls', LISTED), /blocks available/, 'signed in and listing');
        const [row] = await sessionsOf(g, 'alice');
        ok(row, 'listed by ./cfs smb status');
        const ended = await runCommand(CFS, ['smb', 'end-session', row.session, '--config', g.configFile], {
          timeoutMs: 60_000,
        });
        equal(ended.code, 0, ended.output);
        equal(
          ended.stdout,
          `Ended session ${row.session} of alice from ${row.remote} (0 open files closed).\n`,
        );
        ok(
          cap.logged(
            `SMB session ${row.session} of alice from ${row.remote} ended (0 open files closed): an operator ended it`,
          ),
        );
        const next = await live.run('ls', LISTED);
        match(next, /NT_STATUS_CONNECTION_DISCONNECTED listing/);
        deepEqual(await sessionsOf(g, 'alice'), []);

        const again = await runCommand(CFS, ['smb', 'end-session', row.session, '--config', g.configFile]);
        equal(again.code, 1);
        match(again.stderr, new RegExp(`no session ${row.session} \\(\\./cfs smb status lists them\\)`));
        const audit = await g.gw.control.audit.list({ action: 'smb.end-session' });
        deepEqual(audit.map((e) => [e.target, e.outcome]).reverse(), [
          [`smb-session:${row.session}`, 'ok'],
          [`smb-session:${row.session}`, 'error'],
        ]);
      } finally {
        live.stop();
      }
      const back = await smbclient(g, 'alice%Wonder-land1', { share: 'export', commands: 'ls' });
      equal(back.code, 0, `not locked out: ${back.output}`);

      const neither = await runCommand(CFS, ['smb', 'end-session', '--config', g.configFile]);
      equal(neither.code, 2);
      match(neither.stderr, /name one session \(0x… as \.\/cfs smb status lists it\) or --user NAME/);
    },
  );

  test('2 --user: every session of the user ends; its open file, share mode and lock go, so another client may take them', async () => {
    const held = await connectedClient(g.port, 'carol', 'Sing-along3', { dialects: [0x0302] });
    const other = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: [0x0302] });
    try {
      const fid = await openOk(held, 'carols.bin', { access: 0x12019f, disposition: 5, share: 0 });
      const lock = await held.request({
        command: CMD.LOCK,
        body: lockBody(fid, [{ offset: 0n, length: 4n, flags: 0x12 }]),
      });
      equal(lock.status, 0);
      const open = () =>
        // Reading only: carol's file (0644) is not alice's to write.
        other.request({
          command: CMD.CREATE,
          body: createBody('carols.bin', { access: 0x120089, disposition: 1 }),
        });
      equal((await open()).status, NT_STATUS.STATUS_SHARING_VIOLATION, 'held open, sharing nothing');

      const ended = await runCommand(
        CFS,
        ['smb', 'end-session', '--user', 'Carol', '--json', '--config', g.configFile],
        {
          timeoutMs: 60_000,
        },
      );
      equal(ended.code, 0, ended.output);
      const rows = JSON.parse(ended.stdout) as Array<{ user: string; openFiles: number }>;
      deepEqual(
        rows.map((r) => [r.user, r.openFiles]),
        [['carol', 1]],
      );
      await waitFor(() => held.closed, "carol's connection to close", 20_000);
      const reopened = await open();
      equal(reopened.status, 0, 'the share mode went with the session');
      const relock = await other.request({
        command: CMD.LOCK,
        body: lockBody(fileIdOf(reopened), [{ offset: 0n, length: 4n, flags: 0x11 }]),
      });
      equal(relock.status, 0, 'and so did its exclusive lock');
      const [audit] = await g.gw.control.audit.list({ action: 'smb.end-session' });
      equal(audit?.target, 'user:Carol');

      const none = await runCommand(CFS, ['smb', 'end-session', '--user', 'carol', '--config', g.configFile]);
      equal(none.code, 1);
      match(none.stderr, /carol has no SMB session on this gateway/);
    } finally {
      held.close();
      other.close();
    }
  });

  test(
    "3 ./cfs user disable: bob's running smbclient session ends within seconds, and signing in again gets NT_STATUS_ACCOUNT_DISABLED",
    requireTools('smbclient'),
    async () => {
      const live = new LiveSmbclient(g, 'bob%Builder-2');
      try {
        match(await live.run('ls', LISTED), /blocks available/);
        ok((await sessionsOf(g, 'bob')).length === 1);
        const off = await runCommand(CFS, ['user', 'disable', 'bob', '--config', g.configFile], {
          timeoutMs: 60_000,
        });
        equal(off.code, 0, off.output);
        match(off.stdout, /its SMB sessions end within 5 s/);
        await waitFor(
          () => cap.logged('the account bob was disabled'),
          'the session of disabled bob to end',
          20_000,
        );
        match(await live.run('ls', LISTED), /NT_STATUS_CONNECTION_DISCONNECTED listing/);
        deepEqual(await sessionsOf(g, 'bob'), []);
        const relogon = await smbclient(g, 'bob%Builder-2', { share: 'export', commands: 'ls' });
        match(relogon.output, /NT_STATUS_ACCOUNT_DISABLED/);
      } finally {
        live.stop();
        await g.gw.control.users.setDisabled('bob', false);
      }
    },
  );

  test('4 a removed account, and one added again under its name with another uid, end their sessions too', async () => {
    const client = await connectedClient(g.port, 'bob', 'Builder-2');
    try {
      const bob = await g.gw.control.users.get('bob');
      await g.gw.control.users.remove('bob');
      await g.user('bob', 'Builder-2', { uid: (bob?.uid ?? 0) + 100 });
      await waitFor(() => client.closed, 'the session of the replaced bob to end', 20_000);
      // Almost always seen as another uid; a check that ran between the two changes saw it removed.
      ok(
        cap.logged(`the account bob was given uid ${(bob?.uid ?? 0) + 100}`) ||
          cap.logged('the account bob was removed'),
        cap.lines.slice(-3).join(''),
      );
    } finally {
      client.close();
    }
    const again = await connectedClient(g.port, 'bob', 'Builder-2');
    try {
      const before = cap.lines.length;
      await g.gw.control.users.remove('bob');
      await waitFor(() => again.closed, 'the session of the removed bob to end', 20_000);
      ok(cap.lines.slice(before).some((l) => l.includes('the account bob was removed')));
      const echo = await runCommand(CFS, ['smb', 'status', '--json', '--config', g.configFile]);
      equal((JSON.parse(echo.stdout) as SmbStatus).sessions.length, 0, echo.stdout);
    } finally {
      again.close();
    }
  });
});
