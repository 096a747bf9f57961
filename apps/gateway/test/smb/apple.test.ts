import { deepEqual, equal, match, ok, throws } from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type AppleConnection, answerAapl, checkAaplQuery } from '../../src/protocols/smb/apple/aapl.ts';
import { defaultAfpInfo, listed } from '../../src/protocols/smb/apple/afp-streams.ts';
import { macNameToDisk, macNameToWire } from '../../src/protocols/smb/apple/mac-names.ts';
import { takeNfsAces } from '../../src/protocols/smb/apple/nfs-aces.ts';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { SmbError } from '../../src/protocols/smb/errors.ts';
import { shortName } from '../../src/protocols/smb/short-names.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import { IPC_SHARE, type Share } from '../../src/protocols/smb/tree.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { connectedClient, createBody, createContexts, responseContexts } from './client.ts';
import { type SmbGateway, s3ClientOf, smbclient, startSmbGateway } from './fixture.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

/**
 * Apple's AAPL reply byte for byte, and the rules the smbtorture vfs.fruit tests
 * (smbtorture.test.ts) do not reach: what a share without apple_extensions answers.
 */
const share = (apple: boolean, timeMachine = false): Share => ({
  ...IPC_SHARE,
  name: 'mac',
  path: '/mac',
  ipc: false,
  apple,
  ...(timeMachine ? { timeMachine: { maxSize: undefined } } : {}),
});

/** macOS's query: server caps, volume caps and model asked; READ_DIR_ATTR, UNIX_BASED, NFS_ACE offered. */
function query(clientCaps = 0x1n | 0x4n | 0x8n): Buffer {
  const q = Buffer.alloc(24);
  q.writeUInt32LE(1, 0);
  q.writeBigUInt64LE(0x7n, 8);
  q.writeBigUInt64LE(clientCaps, 16);
  return q;
}

describe("Apple's SMB2 extensions", () => {
  test('1 a share with apple_extensions offers all four capabilities in a 56-byte reply', () => {
    const conn: { apple: AppleConnection | undefined } = { apple: undefined };
    const r = answerAapl(query(), share(true), conn)!;
    equal(r.length, 56, 'CommandCode, Reserved, ReplyBitmap, ServerCaps, VolumeCaps, Pad, length, model');
    equal(r.readUInt32LE(0), 1);
    equal(r.readBigUInt64LE(8), 0x7n);
    equal(r.readBigUInt64LE(16), 0xfn, 'READ_DIR_ATTR | OSX_COPYFILE | UNIX_BASED | NFS_ACE');
    equal(r.readBigUInt64LE(24), 0n, 'no volume capabilities');
    equal(r.readUInt32LE(36), 16);
    equal(r.subarray(40).toString('utf16le'), 'ClaudeFS');
    deepEqual(conn.apple, { readDirAttr: true });
  });

  test('2 READ_DIR_ATTR is turned on only when the client offers it', () => {
    const conn: { apple: AppleConnection | undefined } = { apple: undefined };
    const r = answerAapl(query(0x4n), share(true), conn)!;
    equal(r.readBigUInt64LE(16), 0xen);
    deepEqual(conn.apple, { readDirAttr: false });
  });

  test('3 a share without them answers UNIX_BASED only and turns nothing on', () => {
    const conn: { apple: AppleConnection | undefined } = { apple: undefined };
    const r = answerAapl(query(), share(false), conn)!;
    equal(r.readBigUInt64LE(16), 0x4n);
    equal(conn.apple, undefined);
  });

  test('4 a malformed query is STATUS_INVALID_PARAMETER with the extensions, ignored without', () => {
    const bad = query().subarray(0, 16);
    throws(
      () => checkAaplQuery(bad, share(true)),
      (e: unknown) => e instanceof SmbError && e.status === NT_STATUS.STATUS_INVALID_PARAMETER,
    );
    checkAaplQuery(bad, share(false));
    equal(answerAapl(bad, share(false), { apple: undefined }), undefined);
    const otherCommand = query();
    otherCommand.writeUInt32LE(2, 0);
    throws(() => checkAaplQuery(otherCommand, share(true)), SmbError);
  });

  test('5 the default AfpInfo is the 60 bytes a Mac writes for a file without Finder info', () => {
    const d = defaultAfpInfo();
    equal(d.length, 60);
    equal(d.subarray(0, 8).toString('hex'), '4146500000000100', '"AFP\\0", version 1.0');
    equal(d.readUInt32BE(12), 0x8000_0000, 'backup time: never');
    equal(
      d.subarray(16).every((b) => b === 0),
      true,
    );
  });

  test('6 listings show a valid AfpInfo and a non-empty resource fork only, names ignoring case', () => {
    equal(listed('AFP_AfpInfo', 60), true);
    equal(listed('afp_afpinfo', 3), false);
    equal(listed('AFP_Resource', 0), false);
    equal(listed('AFP_Resource', 1), true);
    equal(listed('Zone.Identifier', 0), true);
  });

  test('7 a DACL set with NFS entries loses all of them and sets the mode its S-1-5-88-3 one carries', () => {
    const ace = (sub: number[], type = 1) => ({
      type,
      flags: 0,
      mask: 0,
      sid: { authority: 5, subAuthorities: sub },
    });
    const owner = { type: 0, flags: 0, mask: 0x1f01ff, sid: { authority: 22, subAuthorities: [1, 1000] } };
    const { dacl, mode } = takeNfsAces([owner, ace([88, 3, 0o100640]), ace([88, 1, 27]), ace([88, 2, 300])]);
    deepEqual(dacl, [owner]);
    equal(mode, 0o640);
    equal(takeNfsAces([owner]).mode, undefined);
  });

  test('8 ./cfs smb shares says which shares have the extensions; a wrong value names file, line and key', async () => {
    const dir = makeTempDir('apple-config');
    const file = join(dir, 'gateway.yaml');
    const shares = (mac: string) =>
      `smb:\n  shares:\n    - { name: export, path: /export }\n    - { name: mac, path: /mac, apple_extensions: ${mac} }\n`;
    writeFileSync(file, shares('true'));
    const r = await runCommand(CFS, ['smb', 'shares', '--config', file], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /\[export\][^[]*\tapple extensions = No\n/);
    match(r.stdout, /\[mac\][^[]*\tapple extensions = Yes\n/);
    match(r.stdout, /\[mac\][^[]*\tconvert appledouble = Yes\n/);
    match(r.stdout, /\[export\][^[]*\tconvert appledouble = No\n/);
    writeFileSync(file, shares('maybe'));
    const bad = await runCommand(CFS, ['gateway', 'validate-config', '--config', file], {
      timeoutMs: 60_000,
    });
    equal(bad.code === 0, false, bad.output);
    match(
      bad.output,
      /gateway\.yaml:4:\d+ smb\.shares\.1\.apple_extensions: expected true or false, got 'maybe'/,
    );
  });

  test('9 a Time Machine share says FLUSH reaches the disk (FULL_SYNC), as a Mac requires of a backup disk', () => {
    const r = answerAapl(query(), share(true, true), { apple: undefined })!;
    equal(r.readBigUInt64LE(24), 0x4n);
    equal(answerAapl(query(), share(true), { apple: undefined })!.readBigUInt64LE(24), 0n);
  });
});

describe('a Time Machine share seen through smbclient', () => {
  let g: SmbGateway;
  let work: string;
  const auth = 'tim%Time-Machine1';
  before(async () => {
    g = await startSmbGateway({
      shares: [
        '{ name: tm, path: /tm, apple_extensions: true, time_machine: true, time_machine_max_size: 32KiB }',
      ],
    });
    await g.user('tim', 'Time-Machine1');
    work = makeTempDir('time-machine');
  });
  after(() => g?.stop());

  test(
    '1 the volume is time_machine_max_size large, less its sparse bundles (band size × bands)',
    requireTools('smbclient'),
    async () => {
      const blocks = async () => {
        const r = await smbclient(g, auth, { share: 'tm', commands: 'du', cwd: work });
        equal(r.code, 0, r.output);
        const m = /(\d+) blocks of size (\d+)\. (\d+) blocks available/.exec(r.stdout);
        ok(m, r.output);
        return { total: Number(m[1]) * Number(m[2]), avail: Number(m[3]) * Number(m[2]) };
      };
      deepEqual(await blocks(), { total: 32 * 1024, avail: 32 * 1024 });
      writeFileSync(
        join(work, 'Info.plist'),
        '<dict>\n  <key>band-size</key>\n  <integer>8192</integer>\n</dict>\n',
      );
      writeFileSync(join(work, 'band'), '');
      const setup = await smbclient(g, auth, {
        share: 'tm',
        cwd: work,
        commands:
          'mkdir mac.sparsebundle; cd mac.sparsebundle; put Info.plist; mkdir bands; cd bands; put band 0; put band 1',
      });
      equal(setup.code, 0, setup.output);
      // The count is kept 5 s (a Mac asks often during a backup).
      await new Promise((r) => setTimeout(r, 5_500));
      deepEqual(await blocks(), { total: 32 * 1024, avail: 16 * 1024 });
    },
  );
});

describe('names Windows does not allow, between Macs, NFS and S3 (apple_extensions)', () => {
  let g: SmbGateway;
  let work: string;
  const auth = 'mia%Mac-Names-1';
  /** What macOS sends for ':' and '?' (Services for Macintosh's private-use characters). */
  const COLON = '\uf022';
  const QUESTION = '\uf025';
  before(async () => {
    g = await startSmbGateway({
      protocols: ['smb', 's3'],
      shares: ['{ name: mac, path: /export/mac, apple_extensions: true }'],
    });
    await g.user('mia', 'Mac-Names-1');
    work = makeTempDir('mac-names');
  });
  after(() => g?.stop());

  test('1 the map is Samba\'s (catia with fruit): controls and " * : < > ? \\ | both ways', () => {
    equal(macNameToDisk(`a${COLON}b${QUESTION}\uf001\uf026\uf027`), 'a:b?\x01\\|');
    equal(
      macNameToWire('a:b?\x01\\|"*<>'),
      `a${COLON}b${QUESTION}\uf001\uf026\uf027\uf020\uf021\uf023\uf024`,
    );
    equal(macNameToWire('plain.txt'), 'plain.txt');
  });

  test(
    '2 a Mac\'s "Notes 10:30" is `Notes 10:30` over S3, and an S3 key with "?" is a name a Mac can open',
    requireTools('smbclient'),
    async () => {
      const s3 = await s3ClientOf(g, 'mia');
      writeFileSync(join(work, 'note.txt'), 'ten thirty');
      const put = await smbclient(g, auth, {
        share: 'mac',
        cwd: work,
        commands: `put note.txt "Notes 10${COLON}30.txt"`,
      });
      equal(put.code, 0, put.output);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'mac', Key: 'Notes 10:30.txt' }));
      equal(await got.Body!.transformToString(), 'ten thirty');

      await s3.send(new PutObjectCommand({ Bucket: 'mac', Key: 'why?.txt', Body: 'from S3' }));
      const ls = await smbclient(g, auth, { share: 'mac', cwd: work, commands: 'ls' });
      equal(ls.code, 0, ls.output);
      match(ls.stdout, new RegExp(`why${QUESTION}\\.txt`));
      match(ls.stdout, new RegExp(`Notes 10${COLON}30\\.txt`));
      const get = await smbclient(g, auth, {
        share: 'mac',
        cwd: work,
        commands: `get "why${QUESTION}.txt" why.txt`,
      });
      equal(get.code, 0, get.output);
      equal(readFileSync(join(work, 'why.txt'), 'utf8'), 'from S3');
      // The same directory through the plain share: a name Windows cannot hold is listed by
      // its 8.3 name, which opens it.
      const short = shortName('Notes 10:30.txt');
      const plain = await smbclient(g, auth, {
        share: 'export',
        cwd: work,
        commands: `ls mac\\*; get mac\\${short} plain.txt`,
      });
      equal(plain.code, 0, plain.output);
      match(plain.stdout, new RegExp(`\\s${short.replace('.', '\\.')}\\s`));
      equal(readFileSync(join(work, 'plain.txt'), 'utf8'), 'ten thirty');
    },
  );

  test('3 ./cfs smb status says which sessions are Macs (+AAPL): what a share with the extensions answered', async () => {
    const c = await connectedClient(g.port, 'mia', 'Mac-Names-1', { share: 'mac' });
    try {
      const r = await c.request({
        command: CMD.CREATE,
        body: createBody('', {
          access: 0x0012_0089,
          options: 1,
          disposition: 1,
          contexts: createContexts([{ name: 'AAPL', data: query() }]),
        }),
      });
      equal(r.status, 0);
      equal(responseContexts(r).get('AAPL')?.readBigUInt64LE(16), 0xfn);
      const status = await runCommand(CFS, ['smb', 'status', '--config', g.configFile], {
        timeoutMs: 60_000,
      });
      equal(status.code, 0, status.output);
      match(status.stdout, /\bmia\b.*SMB3_\d\d \+AAPL/);
    } finally {
      c.close();
    }
  });
});
