import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { type SmbGateway, smbclient, startSmbGateway } from './fixture.ts';

/**
 * With `durability.metadata: async` (flushed hourly here) an SMB change is answered once
 * committed, and CLOSE puts what came before it on disk: smbclient's mkdir and rename each end
 * with a CLOSE, so each is on disk when smbclient reports it done — counted in
 * `gateway_metadata_flushes_total` as an operator reads it.
 */
describe('SMB with durability.metadata async', requireTools('smbclient'), () => {
  let g: SmbGateway;
  const auth = 'erin%Erin-pass-1';
  const flushes = async () => {
    const text = await (await fetch(`http://127.0.0.1:${g.opsPort}/metrics`)).text();
    const m = /^gateway_metadata_flushes_total (\d+)$/m.exec(text);
    ok(m, 'gateway_metadata_flushes_total is exported');
    return Number(m[1]);
  };

  before(async () => {
    g = await startSmbGateway({ extraYaml: 'durability: { metadata: async, flush_interval: 1h }' });
    await g.user('erin', 'Erin-pass-1');
    await g.gw.ns.ensureDirectory('/export', 0o1777);
  });
  after(() => g?.stop());

  test('1 mkdir and rename over smbclient are flushed by their CLOSE', async () => {
    const cwd = makeTempDir('smb-durability');
    for (const [commands, what] of [
      ['mkdir made', 'mkdir'],
      ['rename made renamed', 'rename'],
    ] as const) {
      const before = await flushes();
      const r = await smbclient(g, auth, { share: 'export', commands, cwd });
      equal(r.code, 0, r.output);
      ok((await flushes()) > before, `${what}: no flush before smbclient was answered`);
    }
    const ls = await smbclient(g, auth, { share: 'export', commands: 'ls', cwd });
    ok(/^\s+renamed\s+D/m.test(ls.stdout), ls.stdout);
  });
});
