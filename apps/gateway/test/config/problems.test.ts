import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { formatProblem } from '../../src/config/problems.ts';
import { printed, writeConfig } from './fixtures/config-file.ts';

/**
 * Each row is a file an operator might write and exactly what validate-config tells them:
 * `FILE:LINE:COL key.path: message`, one line per problem, in file order.
 */
const rows: [row: number, what: string, lines: string[], expected: string[]][] = [
  [
    1,
    'a typo in a key is named at the key, with the key it was meant to be',
    [
      'node:',
      '  name: gw-1',
      '  state_dir: /var/lib/claudefs',
      'log_level: info',
      'nfs:',
      '  enabled: true',
      '  bnd: 0.0.0.0:2049',
    ],
    ["FILE:7:3 nfs.bnd: unknown key 'bnd' (did you mean 'bind'?)"],
  ],
  [
    2,
    'a dash for an underscore is caught the same way',
    ['log-level: info'],
    ["FILE:1:1 log-level: unknown key 'log-level' (did you mean 'log_level'?)"],
  ],
  [
    3,
    'an unknown key with no near neighbour gets no guess',
    ['colour: blue'],
    ["FILE:1:1 colour: unknown key 'colour'"],
  ],
  [
    4,
    'a word where a number belongs',
    ['limits: { max_connections: lots }'],
    ["FILE:1:28 limits.max_connections: expected a number, got 'lots'"],
  ],
  [
    5,
    'a fraction where a whole number belongs',
    ['limits:', '  max_connections: 1.5'],
    ['FILE:2:20 limits.max_connections: expected a whole number, got 1.5'],
  ],
  [
    6,
    'YAML 1.2 reads yes as text, not as true',
    ['nfs:', '  enabled: yes'],
    ["FILE:2:12 nfs.enabled: expected true or false, got 'yes'"],
  ],
  [7, 'a section that is not a map', ['nfs: true'], ['FILE:1:6 nfs: expected a mapping, got true']],
  [
    8,
    'a log level that does not exist',
    ['log_level: verbose'],
    ["FILE:1:12 log_level: must be one of debug, info, warn, error; got 'verbose'"],
  ],
  [
    9,
    'a duration without a unit',
    ['circuit_breaker:', '  failure_threshold: 5', '  reset_timeout: 10'],
    [
      "FILE:3:18 circuit_breaker.reset_timeout: duration '10' needs a unit: ms, s, m, h, d or w, e.g. 500ms, 10s, 7d",
    ],
  ],
  [
    10,
    'a duration in an unknown unit, and a zero interval',
    ['cache: { ttl: 3y }', 'health: { probe_interval: 0s }'],
    [
      "FILE:1:15 cache.ttl: '3y' has an unknown unit 'y': use ms, s, m, h, d or w, e.g. 500ms, 10s, 7d",
      'FILE:2:27 health.probe_interval: must be longer than 0ms',
    ],
  ],
  [
    11,
    'a port out of range',
    ['s3:', '  bind: 0.0.0.0:70000'],
    ["FILE:2:9 s3.bind: port 70000 in '0.0.0.0:70000' is outside 1-65535"],
  ],
  [
    12,
    'an IPv6 address without brackets',
    ['s3:', '  bind: ::1:9000'],
    ["FILE:2:9 s3.bind: IPv6 addresses need brackets: write '[::1]:9000'"],
  ],
  [
    12.5,
    'an IPv6 address and port not quoted (YAML reads a list)',
    ['nfs:', '  bind: [::]:2049'],
    ['FILE:2:13: Unexpected scalar at node end: an IPv6 address with a port must be quoted, "[::]:2049"'],
  ],
  [
    13,
    'a bare port',
    ['nfs:', '  bind: 2049'],
    ["FILE:2:9 nfs.bind: '2049' has no host: write 0.0.0.0:2049 to listen on every interface"],
  ],
  [
    14,
    'a host that is not one',
    ['health:', '  bind: 300.1.1.1:8080'],
    ["FILE:2:9 health.bind: '300.1.1.1' is not an IPv4 address"],
  ],
  [
    15,
    'a bad network and a bad host name among the clients, each at its own column',
    ['nfs:', '  exports:', '    - path: /export', '      clients: [10.0.0.0/33, "bad host!"]'],
    [
      "FILE:4:17 nfs.exports.0.clients.0: '10.0.0.0/33' has a bad prefix length: IPv4 takes /0 to /32",
      "FILE:4:30 nfs.exports.0.clients.1: 'bad host!' is not a network (10.0.0.0/8), an address or a host name (*.example.com)",
    ],
  ],
  [
    16,
    'a relative export path',
    ['nfs:', '  exports:', '    - path: export'],
    ["FILE:3:13 nfs.exports.0.path: 'export' is not absolute: namespace paths start with / (e.g. /export)"],
  ],
  [
    17,
    'an export path climbing with ..',
    ['nfs:', '  exports:', '    - path: /export/../etc'],
    ["FILE:3:13 nfs.exports.0.path: '/export/../etc' contains '..'"],
  ],
  [
    18,
    'an export path that is not in normal form',
    ['nfs:', '  exports:', '    - path: /export//data/'],
    ["FILE:3:13 nfs.exports.0.path: '/export//data/' is not normalised: write '/export/data'"],
  ],
  [
    19,
    'a NUL byte in a share path',
    ['smb:', '  shares:', '    - { name: data, path: "/da\\0ta" }'],
    ['FILE:3:27 smb.shares.0.path: path contains a NUL byte'],
  ],
  [
    20,
    'a metadata database the gateway cannot speak to',
    ['metadata: { url: "mysql://db/claudefs" }'],
    [
      "FILE:1:18 metadata.url: metadata URL scheme 'mysql' is not supported: use sqlite, postgres or postgresql",
    ],
  ],
  [
    21,
    'a data store the gateway cannot speak to',
    ['transport: { url: "http://store/data" }'],
    ["FILE:1:19 transport.url: transport URL scheme 'http' is not supported: use file or s3"],
  ],
  [
    22,
    'a sqlite URL whose path would be read as a host',
    ['metadata:', '  url: sqlite://meta.db'],
    [
      "FILE:2:8 metadata.url: 'sqlite://meta.db' needs an absolute path after sqlite://, e.g. sqlite:///var/lib/claudefs/meta.db",
    ],
  ],
  [
    23,
    'a postgres password never appears in a message',
    ['metadata:', '  url: "postgres://gw:s3cret@db host/claudefs"'],
    [
      "FILE:2:8 metadata.url: 'postgres://gw:***@db host/claudefs' is not a URL: write e.g. sqlite:///var/lib/claudefs/meta.db or postgres://user@db-host/claudefs",
    ],
  ],
  [
    24,
    'a missing required key is reported at the entry it belongs in',
    ['smb:', '  shares:', '    - path: /export', '      read_only: true'],
    ["FILE:3:7 smb.shares.0.name: missing required key 'name'"],
  ],
  [
    25,
    'a mode that is not octal',
    ['nfs:', '  exports:', '    - path: /export', '      mode: 999'],
    ["FILE:4:13 nfs.exports.0.mode: mode '999' is not octal permission bits, e.g. 1777 or 0755"],
  ],
  [
    26,
    'a negative uid',
    ['nfs:', '  exports:', '    - { path: /export, anon_uid: -1 }'],
    ['FILE:3:34 nfs.exports.0.anon_uid: must be at least 0, got -1'],
  ],
  [
    27,
    'a bucket name S3 clients would refuse',
    ['s3:', '  public_read_buckets: [Photos]'],
    [
      "FILE:2:25 s3.public_read_buckets.0: 'Photos' is not a bucket name: 3 to 63 lowercase letters, digits, '.' or '-'",
    ],
  ],
  [
    28,
    'a workgroup longer than NetBIOS allows',
    ['smb:', '  workgroup: CLAUDEFS-WORKGROUP'],
    [
      "FILE:2:14 smb.workgroup: 'CLAUDEFS-WORKGROUP' is not a NetBIOS name: 1 to 15 letters, digits, '.', '_' or '-'",
    ],
  ],
  [
    29,
    'a TLS section with only a certificate: the missing key is reported at the map it belongs in',
    ['s3:', '  tls: { cert: /etc/claudefs/cert.pem }'],
    ["FILE:2:3 s3.tls.key: missing required key 'key'"],
  ],
  [
    30,
    'NFS enabled with nothing exported',
    ['nfs:', '  exports: []'],
    ['FILE:2:12 nfs.exports: nfs is enabled but exports nothing: add an export or set nfs.enabled: false'],
  ],
  [
    31,
    'a file that is not a map at all',
    ['- nfs'],
    ['FILE:1:1: the configuration must be a mapping of keys (node:, nfs:, s3: …), got a list'],
  ],
  [
    32,
    'YAML: a key given twice',
    ['nfs:', '  bind: 0.0.0.0:2049', '  bind: 0.0.0.0:2050'],
    ['FILE:3:3 nfs.bind: given twice in one map (remove one: neither is used)'],
  ],
  [
    33,
    'YAML: a tab used for indentation',
    ['nfs:', '\tbind: 0.0.0.0:2049'],
    ['FILE:2:1: Tabs are not allowed as indentation'],
  ],
  [
    34,
    'YAML: an unclosed flow map',
    ['nfs: { bind: 0.0.0.0:2049', 's3: {}'],
    ['FILE:2:1: Flow map in block collection must be sufficiently indented and end with a }'],
  ],
  [
    35,
    'an SMB break timeout past its bound: NFS and S3 requests would wait that long',
    ['smb:', '  break_timeout: 6m'],
    [
      'FILE:2:18 smb.break_timeout: at most 5m: NFS and S3 requests wait this long for a client that does not answer',
    ],
  ],
  [
    36,
    'a state folder whose path runs through a file',
    ['node: { state_dir: /etc/passwd/state }'],
    ['FILE:1:20 node.state_dir: /etc/passwd/state cannot be a folder: a part of its path is a file'],
  ],
  [
    37,
    'a state folder under /proc, where nothing can be made (the start would have spun for ever)',
    ['node: { state_dir: /proc/nonexistent/state }'],
    ['FILE:1:20 node.state_dir: /proc/nonexistent/state is under /proc, where no folder can be made'],
  ],
  [
    38,
    'a state folder that is a file',
    ['node: { state_dir: /etc/passwd }'],
    ['FILE:1:20 node.state_dir: /etc/passwd is a file, not a folder'],
  ],
  [
    39,
    'YAML: a key given twice inside a list item names its place',
    ['nfs:', '  exports:', '    - { path: /a, access: rw, access: ro }'],
    ['FILE:3:31 nfs.exports.0.access: given twice in one map (remove one: neither is used)'],
  ],
];

describe('every class of problem is reported at its line, column and key path', () => {
  for (const [row, what, lines, expected] of rows) {
    test(`row ${row}: ${what}`, async () => {
      const file = writeConfig(lines);
      const { config, problems } = await loadConfig(file);
      assert.deepEqual(printed(problems, file), expected);
      assert.equal(config, undefined, 'a file with errors yields no config');
    });
  }
});

describe('several problems in one file', () => {
  test('row 35: all are listed, in file order, with one line each', async () => {
    const file = fileURLToPath(new URL('./fixtures/many-problems.yaml', import.meta.url));
    const { config, problems } = await loadConfig(file);
    assert.equal(config, undefined);
    assert.deepEqual(printed(problems, file), [
      "FILE:4:12 log_level: must be one of debug, info, warn, error; got 'loud'",
      "FILE:8:3 nfs.mount-bind: unknown key 'mount-bind' (did you mean 'mount_bind'?)",
      'FILE:11:13 nfs.exports.1.path: /data is already exported by nfs.exports.0',
      "FILE:12:13 nfs.exports.2.path: 'export' is not absolute: namespace paths start with / (e.g. /export)",
      'FILE:14:9 s3.bind: port 2049 is also used by nfs.bind (0.0.0.0:2049)',
      "FILE:15:11 s3.region: 'US East' is not a region name like us-east-1",
      "FILE:20:15 smb.shares.1.name: share name 'Data' is already used by smb.shares.0 ('data'; share names ignore case)",
      "FILE:23:8 cache.ttl: duration '5' needs a unit: ms, s, m, h, d or w, e.g. 500ms, 10s, 7d",
    ]);
  });

  test('row 36: the printed form is FILE:LINE:COL key.path: message', () => {
    const line = formatProblem({
      file: '/etc/claudefs/gateway.yaml',
      line: 7,
      col: 3,
      path: 'nfs.bnd',
      message: "unknown key 'bnd' (did you mean 'bind'?)",
      severity: 'error',
    });
    assert.equal(line, "/etc/claudefs/gateway.yaml:7:3 nfs.bnd: unknown key 'bnd' (did you mean 'bind'?)");
  });

  test('row 37: a warning says so after the key path', () => {
    const line = formatProblem({
      file: '/etc/claudefs/gateway.yaml',
      line: 5,
      col: 9,
      path: 'nfs.bind',
      message: 'port 2049 is already in use on this host',
      severity: 'warning',
    });
    assert.equal(
      line,
      '/etc/claudefs/gateway.yaml:5:9 nfs.bind: warning: port 2049 is already in use on this host',
    );
  });
});
