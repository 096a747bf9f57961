import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ListenerView } from '@claudefs/api';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { startUnregistered } from '../support/gateway.ts';
import { freePorts } from '../support/ports.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { signIn, trpc } from './fixture.ts';

/** Resolves when a TCP connect to host:port succeeds: something is really listening there. */
function accepts(address: string): Promise<boolean> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
    socket.setTimeout(10_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('listeners.list: where the running gateway listens', () => {
  let gw: Gateway;
  let base: string;
  let viewer: string;
  let operator: string;
  const ports = { nfs: 0, mount: 0, s3: 0, smb: 0, health: 0 };

  before(async () => {
    const dir = makeTempDir('trpc-listeners');
    [ports.nfs, ports.mount, ports.s3, ports.smb, ports.health] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `node: { name: gw-listeners, state_dir: ${dir}/state }
nfs: { bind: 127.0.0.1:${ports.nfs}, mount_bind: 127.0.0.1:${ports.mount}, exports: [{ path: /export }] }
s3: { bind: 127.0.0.1:${ports.s3}, root: /export }
smb: { bind: 127.0.0.1:${ports.smb}, shares: [{ name: export, path: /export }] }
health: { bind: 127.0.0.1:${ports.health}, probe_interval: 1s }
`,
    );
    const { config, problems } = await loadConfig(file, { checkPorts: false });
    if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
    process.env.CFS_ADMIN_PASSWORD ??= 'bootstrap-Admin-pw-41';
    gw = new Gateway(config, ['nfs', 's3', 'smb'], createLogger('error', { pretty: false }));
    await startUnregistered(gw);
    base = `http://127.0.0.1:${ports.health}`;
    await gw.control.users.add({ name: 'vic', role: 'viewer', password: 'vic-Viewer-pw-8' });
    await gw.control.users.add({ name: 'otto', role: 'operator', password: 'otto-Operator-pw-8' });
    viewer = await signIn(base, 'vic', 'vic-Viewer-pw-8');
    operator = await signIn(base, 'otto', 'otto-Operator-pw-8');
  });
  after(() => gw?.stop());

  const list = async () => {
    const r = await trpc<ListenerView[]>(base, 'query', 'listeners.list', undefined, { cookie: viewer });
    assert.equal(r.status, 200, r.error?.message);
    return r.data;
  };

  test('1 a viewer gets every listener: protocol, the bound host:port (MOUNT too) and its state', async () => {
    assert.deepEqual(await list(), [
      { name: 'health', protocol: 'ops', address: `127.0.0.1:${ports.health}`, state: 'accepting' },
      { name: 'NFS', protocol: 'nfs', address: `127.0.0.1:${ports.nfs}`, state: 'accepting' },
      { name: 'MOUNT', protocol: 'nfs', address: `127.0.0.1:${ports.mount}`, state: 'accepting' },
      { name: 'S3 (http)', protocol: 's3', address: `127.0.0.1:${ports.s3}`, state: 'accepting' },
      { name: 'SMB', protocol: 'smb', address: `127.0.0.1:${ports.smb}`, state: 'accepting' },
    ]);
  });

  test('2 every address it reports accepts a TCP connection', async () => {
    for (const l of await list()) assert.ok(await accepts(l.address), `${l.name} accepts on ${l.address}`);
  });

  test('3 while the gateway drains, the protocol listeners say draining and the ops listener does not', async () => {
    const drained = await trpc(base, 'mutation', 'drain.drain', undefined, { cookie: operator });
    assert.equal(drained.status, 200, drained.error?.message);
    try {
      const states = Object.fromEntries((await list()).map((l) => [l.name, l.state]));
      assert.deepEqual(states, {
        health: 'accepting',
        NFS: 'draining',
        MOUNT: 'draining',
        'S3 (http)': 'draining',
        SMB: 'draining',
      });
    } finally {
      const undrained = await trpc(base, 'mutation', 'drain.undrain', undefined, { cookie: operator });
      assert.equal(undrained.status, 200, undrained.error?.message);
    }
    assert.ok((await list()).every((l) => l.state === 'accepting'));
  });

  test('4 without a session it is UNAUTHORIZED', async () => {
    const r = await trpc(base, 'query', 'listeners.list');
    assert.equal(r.status, 401);
  });
});
