import { equal, match, ok } from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { capturedLog } from '../support/log.ts';
import type { RunResult } from '../support/proc.ts';
import { runCommand } from '../support/proc.ts';
import { relayProxy } from '../support/proxy.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { createBody, TestClient } from './client.ts';
import { reloadWith, type SmbGateway, smbclient, startSmbGateway } from './fixture.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const ACCESS_DENIED = 0xc0000022;
const NETWORK_NAME_DELETED = 0xc00000c9;
const SESSION_FLAG_ENCRYPT_DATA = 0x4;
const SHAREFLAG_ENCRYPT_DATA = 0x8000;
/** The transform header's ProtocolId: every encrypted message starts with it. */
const TRANSFORM = Buffer.from([0xfd, 0x53, 0x4d, 0x42]);
/** What the test files hold: seen on the wire only when the traffic is not encrypted. */
const MARKER = 'plain-text-on-the-wire;';
const SECRET = '{ name: secret, path: /secret }';

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) n++;
  return n;
}

/**
 * smb.encryption (Samba's `server smb encrypt`) and a share's `encryption`, with Debian's
 * smbclient: what a client that can encrypt is told to do, what one that cannot is refused, and
 * what goes over the wire (every byte both ways through a relay: the files' contents must not
 * be readable in it). One gateway, its file rewritten and reloaded between tests.
 */
describe('SMB encryption the gateway asks for (smb.encryption, a share’s encryption)', () => {
  let g: SmbGateway;
  let work: string;
  let original: string;
  const { log, lines } = capturedLog();
  const alice = 'alice%Wonder-land1';

  before(async () => {
    g = await startSmbGateway({
      shares: [SECRET],
      smbExtra: 'encryption: required',
      logLevel: 'info',
      log,
    });
    await g.user('alice', 'Wonder-land1');
    original = readFileSync(g.configFile, 'utf8');
    work = makeTempDir('smb-encryption');
    writeFileSync(join(work, 'marked.txt'), MARKER.repeat(2000));
  });
  after(() => g?.stop());

  /** Rewrites the file with these settings and reloads it, as SIGHUP would. */
  async function reload(server: string, secretShare?: string): Promise<void> {
    const secret = secretShare ? `{ name: secret, path: /secret, encryption: ${secretShare} }` : SECRET;
    await reloadWith(
      g,
      original.replace('encryption: required', `encryption: ${server}`).replace(SECRET, secret),
    );
  }

  /** smbclient through a relay that keeps both directions' bytes. */
  async function overTheWire(
    share: string,
    commands: string,
    options: string[] = [],
  ): Promise<{ r: RunResult; wire: Buffer }> {
    const seen: Buffer[] = [];
    const proxy = await relayProxy(
      g.port,
      (chunk) => {
        seen.push(Buffer.from(chunk));
        return chunk;
      },
      (chunk) => seen.push(Buffer.from(chunk)),
    );
    try {
      const r = await smbclient({ ...g, port: proxy.port }, alice, { share, commands, options, cwd: work });
      return { r, wire: Buffer.concat(seen) };
    } finally {
      proxy.close();
    }
  }

  /** `ls` from smbclient speaking SMB 2.1, which has no encryption. */
  const smb21 = (share: string) =>
    smbclient(g, alice, { share, commands: 'ls', options: ['-m', 'SMB2_10'], cwd: work });
  const putAndGet = (name: string) => `put marked.txt ${name}; get ${name} ${name}.back; del ${name}`;
  const plainOnWire = (wire: Buffer) =>
    wire.includes(Buffer.from(MARKER, 'utf16le')) || wire.includes(MARKER);

  function logged(text: string): string {
    const line = lines.find((l) => l.includes(text));
    ok(line, `log has "${text}":\n${lines.join('')}`);
    return line;
  }

  test(
    '1 required: smbclient is told to encrypt (3.1.1 GCM, 3.0 CCM) without asking; the file never crosses in clear',
    requireTools('smbclient'),
    async () => {
      for (const dialect of ['SMB3_11', 'SMB3_00']) {
        const { r, wire } = await overTheWire('export', putAndGet(`r-${dialect}.txt`), [
          '-m',
          dialect,
          `--option=client min protocol=${dialect}`,
        ]);
        equal(r.code, 0, r.output);
        equal(readFileSync(join(work, `r-${dialect}.txt.back`), 'utf8'), MARKER.repeat(2000));
        ok(!plainOnWire(wire), `${dialect}: the file's bytes crossed the wire in clear`);
        ok(count(wire, TRANSFORM) >= 10, `${dialect}: encrypted messages on the wire`);
      }
    },
  );

  test(
    '2 required: a client that cannot encrypt is refused at logon with STATUS_ACCESS_DENIED and a log line saying why',
    requireTools('smbclient'),
    async () => {
      const r = await smb21('export');
      ok(r.code !== 0, r.output);
      match(r.output, /NT_STATUS_ACCESS_DENIED/);
      logged(
        'SMB SESSION_SETUP refused: STATUS_ACCESS_DENIED (smb.encryption is required and the client speaks SMB2_10, which has no encryption)',
      );
      // A 3.0 client that offers no encryption capability is refused the same way.
      const c = new TestClient(g.port);
      await c.connect();
      try {
        await c.negotiate([0x0300], { capabilities: 0x04 });
        equal((await c.logon('alice', 'Wonder-land1')).status, ACCESS_DENIED);
        logged('the client did not offer encryption at NEGOTIATE');
      } finally {
        c.close();
      }
    },
  );

  test('3 required: a client told to encrypt that sends in clear anyway gets STATUS_ACCESS_DENIED', async () => {
    const c = new TestClient(g.port);
    await c.connect();
    try {
      await c.negotiate([0x0300]);
      const logon = await c.logon('alice', 'Wonder-land1');
      equal(logon.status, 0);
      equal(logon.body.readUInt16LE(2) & SESSION_FLAG_ENCRYPT_DATA, SESSION_FLAG_ENCRYPT_DATA);
      equal((await c.treeConnect('export')).status, ACCESS_DENIED);
    } finally {
      c.close();
    }
  });

  test(
    '4 desired: 3.x sessions encrypt, an SMB 2.1 client still connects (unencrypted)',
    requireTools('smbclient'),
    async () => {
      await reload('desired');
      const three = await overTheWire('export', putAndGet('d3.txt'));
      equal(three.r.code, 0, three.r.output);
      ok(!plainOnWire(three.wire), 'SMB 3.1.1 traffic is encrypted');
      const two = await overTheWire('export', putAndGet('d2.txt'), ['-m', 'SMB2_10']);
      equal(two.r.code, 0, two.r.output);
      ok(plainOnWire(two.wire), 'SMB 2.1 cannot encrypt: the relay reads the file');
      equal(count(two.wire, TRANSFORM), 0);
    },
  );

  test(
    '5 a share requiring encryption on a server that leaves it to the client: that share encrypts or refuses, the others do not',
    requireTools('smbclient'),
    async () => {
      await reload('if_required', 'required');
      const open = await overTheWire('export', putAndGet('o.txt'));
      equal(open.r.code, 0, open.r.output);
      ok(plainOnWire(open.wire), 'export: smbclient does not encrypt unless told to');
      const secret = await overTheWire('secret', putAndGet('s.txt'));
      equal(secret.r.code, 0, secret.r.output);
      ok(!plainOnWire(secret.wire), 'secret: SMB2_SHAREFLAG_ENCRYPT_DATA made smbclient encrypt');
      const old = await smb21('secret');
      ok(old.code !== 0, old.output);
      match(old.output, /tree connect failed: NT_STATUS_ACCESS_DENIED/);
      logged(
        'SMB TREE_CONNECT refused: STATUS_ACCESS_DENIED (secret requires encryption and the client speaks SMB2_10, which has no encryption)',
      );
      const oldElsewhere = await smb21('export');
      equal(oldElsewhere.code, 0, oldElsewhere.output);
    },
  );

  test('6 a reload that asks for encryption ends the tree connects that are not encrypted; the next one is told to encrypt', async () => {
    await reload('if_required');
    const c = new TestClient(g.port);
    await c.connect();
    try {
      await c.negotiate([0x0300]);
      equal((await c.logon('alice', 'Wonder-land1')).status, 0);
      const first = await c.treeConnect('secret');
      equal(first.status, 0);
      equal(first.body.readUInt32LE(4) & SHAREFLAG_ENCRYPT_DATA, 0);
      const root = () => c.request({ command: CMD.CREATE, body: createBody('') });
      equal((await root()).status, 0);
      await reload('if_required', 'desired');
      logged('SMB tree connect to secret ended by a reload: the share now asks for encryption (desired)');
      equal((await root()).status, NETWORK_NAME_DELETED);
      const again = await c.treeConnect('secret');
      equal(again.status, 0);
      equal(again.body.readUInt32LE(4) & SHAREFLAG_ENCRYPT_DATA, SHAREFLAG_ENCRYPT_DATA);
      equal((await root()).status, ACCESS_DENIED, 'an unencrypted request on an encrypted share');
    } finally {
      c.close();
    }
  });

  test(
    '7 off: no encryption is offered; a client that requires it fails, others connect',
    requireTools('smbclient'),
    async () => {
      await reload('off');
      const strict = await smbclient(g, alice, {
        share: 'export',
        commands: 'ls',
        options: ['--client-protection=encrypt'],
        cwd: work,
      });
      ok(strict.code !== 0, strict.output);
      const plain = await smbclient(g, alice, { share: 'export', commands: 'ls', cwd: work });
      equal(plain.code, 0, plain.output);
    },
  );

  test('8 ./cfs smb shares says what each share gets', async () => {
    await reload('desired', 'required');
    const r = await runCommand(CFS, ['smb', 'shares', '--config', g.configFile], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /^\tserver smb encrypt = desired \(SMB 3\.x sessions encrypt/m);
    match(r.stdout, /\[export\][^[]*\tsmb encrypt = desired \(as the server\)/);
    match(r.stdout, /\[secret\][^[]*\tsmb encrypt = required \(this share's encryption\)/);
  });
});
