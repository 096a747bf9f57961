import { deepEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientMatch } from '../../src/config/address.ts';
import type { NfsExport } from '../../src/config/types.ts';
import { ClientAccess, type HostResolver, hostPatternMatches } from '../../src/protocols/client-access.ts';
import { exportContaining, normaliseMountPath } from '../../src/protocols/mount/exports.ts';

function exp(path: string, clients: string[] = ['0.0.0.0/0']): NfsExport {
  return {
    path,
    clients: clients.map(parseClientMatch),
    access: 'rw',
    squash: 'root',
    secure: false,
    anonUid: 65534,
    anonGid: 65534,
    mode: 0o1777,
    ownerUid: 0,
    ownerGid: 0,
  };
}

test('1 exportContaining: longest whole-component prefix, index of the configuration', () => {
  const list = [exp('/export'), exp('/export/deep'), exp('/other')];
  const cases: Array<[number, string, number | undefined]> = [
    [1, '/export', 0],
    [2, '/export/a/b', 0],
    [3, '/export/deep', 1],
    [4, '/export/deep/x', 1],
    [5, '/export/deeper', 0],
    [6, '/exporter', undefined],
    [7, '/', undefined],
    [8, 'export', undefined],
    [9, '/export/../other', undefined],
  ];
  for (const [row, path, index] of cases) equal(exportContaining(list, path)?.index, index, `row ${row}`);
  equal(exportContaining([exp('/')], '/anything/below')?.index, 0);
  equal(normaliseMountPath('//a///b/'), '/a/b');
});

test('2 host patterns: * and ? within one label, case-insensitive, never across a dot', () => {
  const cases: Array<[number, string, string, boolean]> = [
    [1, '*.lab.example', 'ws1.lab.example', true],
    [2, '*.lab.example', 'a.b.lab.example', false],
    [3, '*.lab.example', 'WS1.LAB.EXAMPLE.', true],
    [4, 'ws?.lab.example', 'ws7.lab.example', true],
    [5, 'ws?.lab.example', 'ws10.lab.example', false],
    [6, 'host.example', 'host.example', true],
  ];
  for (const [row, pattern, name, want] of cases)
    equal(hostPatternMatches(pattern, name), want, `row ${row}`);
});

test('3 ClientAccess: networks need no lookup; names are resolved only when a host entry needs it, and cached', async () => {
  const calls: string[] = [];
  const resolver: HostResolver = {
    async reverse(a) {
      calls.push(`reverse ${a}`);
      return a === '192.0.2.7' ? ['ws1.lab.example'] : ['unknown.example'];
    },
    async forward(n) {
      calls.push(`forward ${n}`);
      return n === 'ws1.lab.example' ? ['192.0.2.7'] : n === 'named.example' ? ['192.0.2.9'] : [];
    },
  };
  const access = new ClientAccess(resolver);
  const e = exp('/e', ['10.0.0.0/8', 'fd00::/8', '*.lab.example', 'named.example']);
  equal(await access.allowed(e, '10.1.2.3'), true);
  equal(await access.allowed(e, '::ffff:10.1.2.3'), true);
  equal(await access.allowed(e, 'fd00::1'), true);
  deepEqual(calls, []);
  equal(await access.allowed(e, '192.0.2.7'), true);
  equal(await access.allowed(e, '192.0.2.9'), true);
  equal(await access.allowed(e, '198.51.100.1'), false);
  const before = calls.length;
  equal(await access.allowed(e, '192.0.2.7'), true);
  equal(calls.length, before, 'cached');
  // A PTR naming a matching host whose forward lookup does not confirm the address: refused.
  const liar: HostResolver = {
    reverse: async () => ['ws9.lab.example'],
    forward: async () => ['192.0.2.99'],
  };
  equal(await new ClientAccess(liar).allowed(exp('/e', ['*.lab.example']), '192.0.2.50'), false);
  equal(await new ClientAccess(liar).allowed(exp('/e', ['*']), '203.0.113.1'), true);
});
