import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { printed, writeConfig } from './fixtures/config-file.ts';

const rows: [row: number, what: string, lines: string[], expected: string[]][] = [
  [
    1,
    'two listeners on one wildcard port',
    ['nfs:', '  bind: 0.0.0.0:9000', 's3:', '  bind: 0.0.0.0:9000'],
    ['FILE:4:9 s3.bind: port 9000 is also used by nfs.bind (0.0.0.0:9000)'],
  ],
  [
    2,
    'a wildcard takes the port from a specific address',
    ['health: { bind: 127.0.0.1:445 }'],
    ['FILE:1:17 health.bind: port 445 is also used by smb.bind (0.0.0.0:445)'],
  ],
  [
    3,
    'the IPv6 wildcard counts as a wildcard',
    ['nfs:', '  mount_bind: "[::]:2049"'],
    ['FILE:2:15 nfs.mount_bind: port 2049 is also used by nfs.bind (0.0.0.0:2049)'],
  ],
  [
    4,
    'the same port on two different addresses is fine',
    ['s3: { bind: 127.0.0.1:9000 }', 'health: { bind: 127.0.0.2:9000 }'],
    [],
  ],
  [5, 'a disabled protocol holds no port', ['smb: { enabled: false, bind: 0.0.0.0:8080 }'], []],
  [
    6,
    'a clash with a default port is reported at the key that was written',
    ['smb:', '  bind: 0.0.0.0:2049'],
    ['FILE:2:9 smb.bind: port 2049 is also used by nfs.bind (0.0.0.0:2049)'],
  ],
  [
    7,
    'two exports of one path',
    ['nfs:', '  exports:', '    - path: /export', '    - path: /data', '    - path: /export'],
    ['FILE:5:13 nfs.exports.2.path: /export is already exported by nfs.exports.0'],
  ],
  [
    8,
    'two shares whose names differ only in case',
    [
      'smb:',
      '  shares:',
      '    - { name: Projects, path: /projects }',
      '    - { name: PROJECTS, path: /projects-old }',
    ],
    [
      "FILE:4:15 smb.shares.1.name: share name 'PROJECTS' is already used by smb.shares.0 ('Projects'; share names ignore case)",
    ],
  ],
  [
    9,
    'two shares of one path with the same settings (with other settings they are allowed, as in Samba)',
    [
      'smb:',
      '  shares:',
      '    - { name: export, path: /export, read_only: true }',
      '    - { name: export2, path: /export, read_only: true }',
      '    - { name: export-mac, path: /export, read_only: true, apple_extensions: true }',
      '    - { name: export-rw, path: /export, valid_groups: [staff] }',
    ],
    [
      "FILE:4:30 smb.shares.1.path: /export is already shared as 'export' (smb.shares.0) with the same settings: two shares of one folder are for different ones (apple_extensions for Macs, read_only, valid_groups)",
    ],
  ],
  [
    10,
    'SMB enabled with nothing shared',
    ['smb:', '  shares: []'],
    ['FILE:2:11 smb.shares: smb is enabled but shares nothing: add a share or set smb.enabled: false'],
  ],
  [11, 'a disabled protocol may have nothing to serve', ['nfs: { enabled: false, exports: [] }'], []],
  [
    12,
    'cross-field checks still run when another key is wrong, so one pass lists everything',
    ['log_level: loud', 'nfs:', '  bind: 0.0.0.0:9000', 's3:', '  bind: 0.0.0.0:9000'],
    [
      "FILE:1:12 log_level: must be one of debug, info, warn, error; got 'loud'",
      'FILE:5:9 s3.bind: port 9000 is also used by nfs.bind (0.0.0.0:9000)',
    ],
  ],
  [
    13,
    'async metadata durability on PostgreSQL, which makes its own commits durable',
    ['metadata: { url: "postgres://cfs@db.example/cfs" }', 'durability:', '  metadata: async'],
    [
      'FILE:3:13 durability.metadata: async applies to the embedded SQLite metadata store; with PostgreSQL metadata set synchronous_commit on the PostgreSQL server instead',
    ],
  ],
  [
    14,
    'async metadata durability on the embedded store',
    ['durability: { metadata: async, flush_interval: 2s }'],
    [],
  ],
  [
    15,
    'a flush interval without async durability is a warning: it would do nothing',
    ['durability:', '  flush_interval: 2s'],
    [
      'FILE:2:3 durability.flush_interval: warning: has no effect unless durability.metadata is async (changes are flushed before they are answered)',
    ],
  ],
  [
    16,
    'a share asking for encryption the server does not offer',
    [
      'smb:',
      '  encryption: off',
      '  shares:',
      '    - { name: export, path: /export }',
      '    - { name: finance, path: /finance, encryption: required }',
      '    - { name: team, path: /team, encryption: if_required }',
    ],
    [
      "FILE:5:52 smb.shares.1.encryption: 'required' cannot be met: smb.encryption is off, so no client can encrypt; set smb.encryption to if_required (or remove this key)",
    ],
  ],
  [
    17,
    'an encryption level Samba does not have',
    ['smb: { encryption: mandatory }'],
    ["FILE:1:20 smb.encryption: must be one of off, if_required, desired, required; got 'mandatory'"],
  ],
  [
    18,
    'a share taking guests where encryption is required, and one while no logon becomes a guest',
    [
      'smb:',
      '  shares:',
      '    - { name: export, path: /export, guest_ok: true }',
      '    - { name: vault, path: /vault, guest_ok: true, encryption: required }',
    ],
    [
      'FILE:3:48 smb.shares.0.guest_ok: warning: has no effect while smb.map_to_guest is never (no logon becomes a guest)',
      'FILE:4:46 smb.shares.1.guest_ok: a guest session cannot encrypt, and its encryption is required: no guest could connect',
    ],
  ],
  [
    19,
    'CORS origins are origins as browsers send them: no path, http or https',
    [
      's3:',
      '  cors_origins: ["https://app.example.com/upload", "*", "ftp://files.example.com", "http://127.0.0.1:8000"]',
    ],
    [
      "FILE:2:18 s3.cors_origins.0: 'https://app.example.com/upload' is not an origin like https://app.example.com: a scheme and a host (and a port), no path",
      "FILE:2:57 s3.cors_origins.2: 'ftp://files.example.com' is not an origin like https://app.example.com: a scheme and a host (and a port), no path",
    ],
  ],
  [
    20,
    "Time Machine without Apple's extensions, and a backup size limit without Time Machine",
    [
      'smb:',
      '  shares:',
      '    - { name: tm, path: /tm, time_machine: true }',
      '    - { name: mac, path: /mac, apple_extensions: true, time_machine_max_size: 2TiB }',
    ],
    [
      'FILE:3:44 smb.shares.0.time_machine: needs apple_extensions: true (a Mac backs up only to a share that answers its AAPL query)',
      'FILE:4:79 smb.shares.1.time_machine_max_size: warning: has no effect without time_machine: true',
    ],
  ],
  [
    21,
    "AppleDouble conversion set on a share without Apple's extensions",
    ['smb:', '  shares:', '    - { name: plain, path: /plain, convert_appledouble: false }'],
    ['FILE:3:57 smb.shares.0.convert_appledouble: warning: has no effect without apple_extensions: true'],
  ],
];

describe('checks across keys', () => {
  for (const [row, what, lines, expected] of rows) {
    test(`row ${row}: ${what}`, async () => {
      const file = writeConfig(lines);
      const { config, problems } = await loadConfig(file);
      assert.deepEqual(printed(problems, file), expected);
      assert.equal(
        config === undefined,
        expected.some((p) => !p.includes(': warning: ')),
      );
    });
  }
});
