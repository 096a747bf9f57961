import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { freePorts } from '../support/ports.ts';
import { printed, writeConfig } from './fixtures/config-file.ts';

function listen(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

/** Every listener on loopback, on ports free a moment ago: line 2 is nfs.bind. */
function loopbackConfig(ports: number[]): string[] {
  const [nfs, mount, s3, smb, health] = ports;
  return [
    'nfs:',
    `  bind: 127.0.0.1:${nfs}`,
    `  mount_bind: 127.0.0.1:${mount}`,
    `s3: { bind: "127.0.0.1:${s3}" }`,
    `smb: { bind: "127.0.0.1:${smb}" }`,
    `health: { bind: "127.0.0.1:${health}" }`,
  ];
}

describe('ports already taken on this host (the runbook netstat check)', () => {
  let ports: number[] = [];
  let held: Server | undefined;
  before(async () => {
    ports = await freePorts(5);
    held = await listen(ports[0] ?? 0, '127.0.0.1');
  });
  after(() => held?.close());

  test('row 1: a port held by another listener is a warning, and the config is still usable', async () => {
    const file = writeConfig(loopbackConfig(ports));
    const { config, problems } = await loadConfig(file, { checkPorts: true });
    assert.deepEqual(printed(problems, file), [
      `FILE:2:9 nfs.bind: warning: port ${ports[0]} is already in use on this host`,
    ]);
    assert.ok(config);
  });

  test('row 2: a wildcard bind over a port held on loopback is reported too', async () => {
    const file = writeConfig(['nfs:', `  bind: 0.0.0.0:${ports[0]}`, ...loopbackConfig(ports).slice(2)]);
    const { problems } = await loadConfig(file, { checkPorts: true });
    assert.deepEqual(printed(problems, file), [
      `FILE:2:9 nfs.bind: warning: port ${ports[0]} is already in use on this host`,
    ]);
  });

  test('row 3: without checkPorts nothing is probed', async () => {
    const file = writeConfig(loopbackConfig(ports));
    const { config, problems } = await loadConfig(file);
    assert.deepEqual(problems, []);
    assert.ok(config);
  });

  test('row 4: the probe leaves the free ports free', async () => {
    const file = writeConfig(loopbackConfig(ports));
    await loadConfig(file, { checkPorts: true });
    const again = await listen(ports[1] ?? 0, '127.0.0.1');
    await new Promise((resolve) => again.close(resolve));
  });

  test('row 5: an address this host does not have is a warning', async () => {
    const file = writeConfig(['nfs:', '  bind: 192.0.2.1:2049', ...loopbackConfig(ports).slice(2)]);
    const { config, problems } = await loadConfig(file, { checkPorts: true });
    assert.deepEqual(printed(problems, file), [
      'FILE:2:9 nfs.bind: warning: 192.0.2.1 is not an address of this host',
    ]);
    assert.ok(config);
  });
});
