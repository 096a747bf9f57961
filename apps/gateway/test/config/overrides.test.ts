import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { applyOverrides, type OverrideFlags } from '../../src/config/overrides.ts';
import { formatProblem } from '../../src/config/problems.ts';
import type { GatewayConfig, Protocol } from '../../src/config/types.ts';
import { makeCertificates } from './fixtures/certificates.ts';
import { writeConfig } from './fixtures/config-file.ts';

const certs = makeCertificates();

async function base(lines: string[] = []): Promise<GatewayConfig> {
  const { config, problems } = await loadConfig(writeConfig(['# flags go over this', ...lines]));
  assert.deepEqual(problems, []);
  assert.ok(config);
  return config;
}

function messages(flags: OverrideFlags, protocols: Protocol[], config: GatewayConfig): string[] {
  return applyOverrides(config, flags, protocols).problems.map((p) =>
    formatProblem(p).replaceAll(config.configFile, 'FILE'),
  );
}

describe('command-line flags over the file (runbook start commands)', () => {
  test('row 1: `start nfs --bind --mount-bind --export` moves NFS and leaves one export', async () => {
    const config = await base();
    const { config: next, problems } = applyOverrides(
      config,
      { bind: '0.0.0.0:12049', mountBind: '0.0.0.0:12048', export: '/projects' },
      ['nfs'],
    );
    assert.deepEqual(problems, []);
    assert.ok(next);
    assert.deepEqual(next.nfs.bind, { host: '0.0.0.0', port: 12049, text: '0.0.0.0:12049' });
    assert.equal(next.nfs.mountBind.port, 12048);
    assert.deepEqual(
      next.nfs.exports.map((e) => [e.path, e.access, e.squash, e.mode, e.clients.map((c) => c.text)]),
      [['/projects', 'rw', 'root', 0o1777, ['0.0.0.0/0']]],
    );
    assert.equal(config.nfs.bind.port, 2049, 'the loaded config is left as it was');
  });

  test('row 2b: `--export` of a path the file does not export, when the file limits its exports, is refused: not opened to every host', async () => {
    const config = await base([
      'nfs:',
      '  exports:',
      '    - { path: /export, clients: [10.0.0.0/8], access: ro }',
    ]);
    assert.deepEqual(messages({ export: '/data' }, ['nfs'], config), [
      '<command line> --export: the file exports /export, not /data: add /data to nfs.exports with the clients that may mount it (made from the flag alone it would be read-write to every host)',
    ]);
  });

  test('row 2: `--export` of a path the file already exports keeps that export’s settings', async () => {
    const config = await base([
      'nfs:',
      '  exports:',
      '    - { path: /export, clients: [10.0.0.0/8], access: ro }',
      '    - { path: /scratch }',
    ]);
    const { config: next } = applyOverrides(config, { export: '/export' }, ['nfs']);
    assert.deepEqual(
      next?.nfs.exports.map((e) => [e.path, e.access, e.clients.map((c) => c.text)]),
      [['/export', 'ro', ['10.0.0.0/8']]],
    );
  });

  test('row 3: `start s3 --bind` moves S3 only', async () => {
    const { config } = applyOverrides(await base(), { bind: '127.0.0.1:19000' }, ['s3']);
    assert.equal(config?.s3.bind.text, '127.0.0.1:19000');
    assert.equal(config?.nfs.bind.text, '0.0.0.0:2049');
  });

  test('row 4: `start smb --domain --workgroup` sets both', async () => {
    const { config } = applyOverrides(await base(), { domain: 'LAB', workgroup: 'LABGROUP' }, ['smb']);
    assert.deepEqual([config?.smb.domain, config?.smb.workgroup], ['LAB', 'LABGROUP']);
  });

  test('row 5: `--log-level debug` applies whatever is started', async () => {
    const { config } = applyOverrides(await base(), { logLevel: 'debug' }, []);
    assert.equal(config?.logLevel, 'debug');
  });

  test('row 6: `start s3 --tls-cert --tls-key` with a good pair enables HTTPS', async () => {
    const { config, problems } = applyOverrides(
      await base(),
      { tlsCert: certs.good.cert, tlsKey: certs.good.key },
      ['s3'],
    );
    assert.deepEqual(
      problems.map((p) => p.message),
      [],
    );
    assert.deepEqual(config?.s3.tls, { cert: certs.good.cert, key: certs.good.key });
  });

  const refused: [
    row: number,
    what: string,
    flags: OverrideFlags,
    protocols: Protocol[],
    expected: string[],
  ][] = [
    [
      7,
      '--bind with no protocol named',
      { bind: '0.0.0.0:2049' },
      [],
      [
        '<command line> --bind: --bind needs a protocol to apply to: name one, e.g. cfs gateway start nfs --bind 0.0.0.0:2049',
      ],
    ],
    [
      8,
      '--bind with two protocols named',
      { bind: '0.0.0.0:2049' },
      ['nfs', 's3'],
      [
        '<command line> --bind: --bind is ambiguous with nfs, s3: start one protocol, or set nfs.bind, s3.bind in the file',
      ],
    ],
    [
      9,
      'a bad address',
      { bind: 'localhost' },
      ['nfs'],
      ["<command line> --bind: 'localhost' is not host:port, e.g. 0.0.0.0:2049"],
    ],
    [
      10,
      '--bind onto a port another started protocol holds',
      { bind: '0.0.0.0:20048' },
      ['nfs'],
      ['<command line> --bind: port 20048 is also used by nfs.mount_bind (0.0.0.0:20048)'],
    ],
    [
      11,
      'an NFS flag on an S3 start',
      { export: '/export' },
      ['s3'],
      ['<command line> --export: --export applies to nfs, and it is not being started'],
    ],
    [
      12,
      'a relative export',
      { export: 'export' },
      ['nfs'],
      ["<command line> --export: 'export' is not absolute: namespace paths start with / (e.g. /export)"],
    ],
    [
      13,
      'a log level that does not exist',
      { logLevel: 'trace' },
      [],
      ["<command line> --log-level: must be one of debug, info, warn, error; got 'trace'"],
    ],
    [
      14,
      '--tls-cert without --tls-key and none in the file',
      { tlsCert: certs.good.cert },
      ['s3'],
      ['<command line> --tls-key: --tls-cert needs --tls-key too (s3.tls is not set in FILE)'],
    ],
    [
      15,
      'a key from another pair',
      { tlsCert: certs.good.cert, tlsKey: certs.other.key },
      ['s3'],
      [
        `<command line> --tls-key: private key ${certs.other.key} does not match certificate ${certs.good.cert}`,
      ],
    ],
    [
      16,
      'an expired certificate',
      { tlsCert: certs.expired.cert, tlsKey: certs.expired.key },
      ['s3'],
      ['<command line> --tls-cert: certificate expired on 2020-01-02T00:00:00Z'],
    ],
    [
      17,
      'TLS flags on an NFS start',
      { tlsCert: certs.good.cert, tlsKey: certs.good.key },
      ['nfs'],
      ['<command line> --tls-cert: --tls-cert applies to s3, and it is not being started'],
    ],
    [
      18,
      'a workgroup too long for NetBIOS',
      { workgroup: 'A-VERY-LONG-WORKGROUP' },
      ['smb'],
      [
        "<command line> --workgroup: 'A-VERY-LONG-WORKGROUP' is not a NetBIOS name: 1 to 15 letters, digits, '.', '_' or '-'",
      ],
    ],
  ];
  for (const [row, what, flags, protocols, expected] of refused) {
    test(`row ${row}: ${what} is refused with the flag named`, async () => {
      const config = await base();
      assert.deepEqual(messages(flags, protocols, config), expected);
      assert.equal(applyOverrides(config, flags, protocols).config, undefined);
    });
  }

  test('row 19: --domain is refused when the file disables SMB and no protocol is named', async () => {
    const config = await base(['smb: { enabled: false }']);
    assert.deepEqual(messages({ domain: 'LAB' }, [], config), [
      '<command line> --domain: --domain applies to smb, and smb.enabled is false in FILE',
    ]);
  });

  test('row 20: --tls-key alone replaces the key of the file’s pair, and the pair is checked again', async () => {
    const config = await base(['s3:', `  tls: { cert: ${certs.good.cert}, key: ${certs.good.key} }`]);
    assert.deepEqual(messages({ tlsKey: certs.other.key }, ['s3'], config), [
      `<command line> --tls-key: private key ${certs.other.key} does not match certificate ${certs.good.cert}`,
    ]);
    const { config: next } = applyOverrides(config, { tlsKey: certs.good.key }, ['s3']);
    assert.deepEqual(next?.s3.tls, { cert: certs.good.cert, key: certs.good.key });
  });

  test('row 21: --bind and --mount-bind on one port: the later listener names the earlier', async () => {
    const config = await base();
    assert.deepEqual(messages({ bind: '0.0.0.0:5000', mountBind: '0.0.0.0:5000' }, ['nfs'], config), [
      '<command line> --mount-bind: port 5000 is also used by nfs.bind (0.0.0.0:5000)',
    ]);
  });

  test('row 22: a protocol named twice is still one protocol', async () => {
    const { config } = applyOverrides(await base(), { bind: '0.0.0.0:12049' }, ['nfs', 'nfs']);
    assert.equal(config?.nfs.bind.port, 12049);
  });

  test('row 23: a port clash with a protocol that is not being started is no clash', async () => {
    const { config, problems } = applyOverrides(await base(), { bind: '0.0.0.0:2049' }, ['s3']);
    assert.deepEqual(problems, []);
    assert.equal(config?.s3.bind.port, 2049);
  });
});
