import { equal, match, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { capturedLog } from '../support/log.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { TestClient } from './client.ts';
import { reloadWith, type SmbGateway, smbclient, startSmbGateway } from './fixture.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const LAB = '{ name: lab, path: /lab, hosts_allow: [10.0.0.0/8] }';
const LOCAL = '{ name: local, path: /local, hosts_allow: [192.0.2.7, localhost] }';

/**
 * A share's hosts_allow (Samba's `hosts allow`), with smbclient on 127.0.0.1: networks and
 * host names as nfs.exports' clients take them, refused at TREE_CONNECT with
 * STATUS_ACCESS_DENIED and a log line; a reload narrowing the list ends what it excludes.
 */
describe('SMB hosts_allow per share', () => {
  let g: SmbGateway;
  let work: string;
  let original: string;
  const { log, lines } = capturedLog();
  const alice = 'alice%Wonder-land1';

  before(async () => {
    g = await startSmbGateway({
      shares: [LAB, LOCAL],
      logLevel: 'info',
      log,
    });
    await g.user('alice', 'Wonder-land1');
    original = readFileSync(g.configFile, 'utf8');
    work = makeTempDir('smb-hosts');
  });
  after(() => g?.stop());

  const ls = (share: string) => smbclient(g, alice, { share, commands: 'ls', cwd: work });

  test(
    '1 127.0.0.1 is refused where only 10.0.0.0/8 may connect, and let in by a host name (localhost) or no list',
    requireTools('smbclient'),
    async () => {
      const lab = await ls('lab');
      ok(lab.code !== 0, lab.output);
      match(lab.output, /tree connect failed: NT_STATUS_ACCESS_DENIED/);
      ok(
        lines.some((l) => l.includes("127.0.0.1 is not in lab's hosts_allow")),
        lines.join(''),
      );
      equal((await ls('local')).code, 0, 'localhost resolves to 127.0.0.1');
      equal((await ls('export')).code, 0, 'a share without hosts_allow takes any host');
    },
  );

  test('2 a reload that narrows hosts_allow ends the tree connects of hosts it leaves out; widening lets them in', async () => {
    const c = new TestClient(g.port);
    await c.connect();
    try {
      await c.negotiate([0x0302]);
      equal((await c.logon('alice', 'Wonder-land1')).status, 0);
      equal((await c.treeConnect('local')).status, 0);
      await reloadWith(g, original.replace(LOCAL, '{ name: local, path: /local, hosts_allow: [192.0.2.7] }'));
      ok(
        lines.some((l) =>
          l.includes('SMB tree connect to local ended by a reload: 127.0.0.1 is not in its hosts_allow'),
        ),
      );
      equal((await c.treeConnect('local')).status, 0xc0000022);
      await reloadWith(
        g,
        original.replace(LAB, '{ name: lab, path: /lab, hosts_allow: [10.0.0.0/8, 127.0.0.0/8] }'),
      );
      equal((await c.treeConnect('lab')).status, 0);
    } finally {
      c.close();
    }
  });

  test('3 ./cfs smb shares lists each share’s hosts', async () => {
    await reloadWith(g, original);
    const r = await runCommand(CFS, ['smb', 'shares', '--config', g.configFile], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /\[lab\][^[]*\thosts allow = 10\.0\.0\.0\/8\n/);
    match(r.stdout, /\[local\][^[]*\thosts allow = 192\.0\.2\.7 localhost\n/);
    match(r.stdout, /\[export\][^[]*\thosts allow = any host\n/);
  });
});
