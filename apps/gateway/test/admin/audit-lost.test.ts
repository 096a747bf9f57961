import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openControlPlane } from '../../src/control/index.ts';
import { fillFileSystem } from '../faults/scenario.ts';
import { emptyWal } from '../support/empty-wal.ts';
import { fetchText } from '../support/http.ts';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { mountTmpfs } from '../support/tmpfs.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

/**
 * Every admin action is audited. When the control plane cannot take the entry (the state
 * disk full: a real tmpfs), the action's answer is unchanged and the entry is kept, whole, in
 * the gateway's log instead of being lost.
 */
describe('an admin action while the control plane cannot record its audit entry', () => {
  let dir: string;
  let state: string | undefined;
  let port: number;
  let gw: ProcessHandle | undefined;

  before(async () => {
    dir = makeTempDir('audit-lost');
    state = mountTmpfs(join(dir, 'state'), '32m');
    if (!state) return;
    [port] = (await freePorts(1)) as [number];
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `node: { state_dir: ${state} }
nfs: { enabled: false }
smb: { enabled: false }
s3: { enabled: false }
health: { bind: 127.0.0.1:${port} }
`,
    );
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', file], {
      name: 'gateway',
      env: { CFS_ADMIN_PASSWORD: 'x-Admin-pw-1' },
    });
    await gw.waitForLine(/gateway started/, 60_000);
  });
  after(() => gw?.stop());

  test("1 the state disk full: a user's cached data is invalidated as asked, and its audit entry is in the log (actor, action, target, outcome); room freed, entries go to the audit table again", async (t) => {
    if (!state || !gw) return t.skip('needs root to mount a tmpfs');
    // The WAL emptied first, so that the next entry must grow a file.
    emptyWal(join(state, 'control.db'));
    const filler = fillFileSystem(state);
    let freed = false;
    try {
      const r = await fetchText(`http://127.0.0.1:${port}/admin/cache/invalidate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uid: 1000 }),
      });
      equal(r.status, 200, r.body);
      equal(JSON.parse(r.body).scope, 'uid 1000');
      const line =
        (await gw.waitForLine(/audit entry not recorded in the control plane/, 10_000)).input ?? '';
      match(
        line,
        /not recorded in the control plane \(SQLITE_FULL: database or disk is full\), kept here: \S+ cache\.invalidate uid=1000 → ok/,
      );
      const logged = JSON.parse(line.slice(line.indexOf('{'))) as {
        audit: { actor: string; action: string; target: string; outcome: string; remoteAddr: string };
      };
      deepEqual(
        [logged.audit.action, logged.audit.target, logged.audit.outcome, logged.audit.remoteAddr],
        ['cache.invalidate', 'uid=1000', 'ok', '127.0.0.1'],
      );
      ok(logged.audit.actor.length > 0);
      filler.free();
      freed = true;

      const again = await fetchText(`http://127.0.0.1:${port}/admin/cache/invalidate`, { method: 'POST' });
      equal(again.status, 200, again.body);
      const cp = await openControlPlane({ stateDir: state });
      try {
        const [last] = await cp.audit.list({ action: 'cache.invalidate', limit: 1 });
        equal(last?.target, 'all', 'recorded in the audit table once there is room');
      } finally {
        await cp.close();
      }
    } finally {
      if (!freed) filler.free();
    }
  });
});
