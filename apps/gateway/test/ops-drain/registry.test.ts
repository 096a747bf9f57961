import { equal, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { CFS } from './fixture.ts';

interface NodeRow {
  name: string;
  health: string;
  draining: boolean;
}

/**
 * The runbook's rolling restart reads `./cfs gateway nodes` after `./cfs gateway drain`. The
 * registry used to hear of a drain at the node's next heartbeat (5 s by default): the row read
 * `DRAINING no` after the drain had taken effect. With a heartbeat of an hour here, only the
 * drain itself can have told it.
 */
describe('./cfs gateway nodes after a local drain and undrain', () => {
  let file: string;
  let gw: ProcessHandle;
  before(async () => {
    const dir = makeTempDir('drain-registry');
    const [nfs, mount, s3, smb, health] = (await freePorts(5)) as number[];
    file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `node: { name: gw-drain, state_dir: ${dir}/state, heartbeat_interval: 1h }
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [{ path: /export }] }
s3: { bind: 127.0.0.1:${s3}, root: /export }
smb: { bind: 127.0.0.1:${smb}, shares: [{ name: export, path: /export }] }
health: { bind: 127.0.0.1:${health}, probe_interval: 1h }
`,
    );
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', file], { name: 'gateway' });
    await gw.waitForLine(/gateway started/, 60_000);
  });
  after(() => gw.stop());

  const cfs = (...args: string[]) => runCommand(CFS, [...args, '--config', file], { timeoutMs: 60_000 });
  const row = async (): Promise<NodeRow> => {
    const r = await cfs('gateway', 'nodes', '--json');
    equal(r.code, 0, r.output);
    const [n] = JSON.parse(r.stdout) as NodeRow[];
    ok(n, r.stdout);
    return n;
  };
  const eventually = async (what: string, check: (n: NodeRow) => boolean): Promise<NodeRow> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const n = await row();
      if (check(n)) return n;
      ok(Date.now() < deadline, `${what}: still ${JSON.stringify(n)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  test('1 the row reads draining once the drain has stopped the listeners, and serving again after undrain, with fresh health', async () => {
    equal((await row()).draining, false);
    const drain = await cfs('gateway', 'drain');
    equal(drain.code, 0, drain.output);
    const drained = await eventually('draining', (n) => n.draining);
    // The registry shows drain on its own; its health is the backends' and the process's.
    equal(drained.health, 'healthy');

    const undrain = await cfs('gateway', 'undrain');
    equal(undrain.code, 0, undrain.output);
    // Health probes run every hour here: healthy means the undrain probed the listeners again
    // once they accepted, instead of reporting the drain's "not accepting connections".
    const serving = await eventually('serving and healthy', (n) => !n.draining && n.health === 'healthy');
    equal(serving.draining, false);
  });
});
