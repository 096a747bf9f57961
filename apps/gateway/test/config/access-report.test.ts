import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BucketView } from '@claudefs/api';
import { loadConfig } from '../../src/config/load.ts';
import type { Protocol } from '../../src/config/types.ts';
import { accessReport } from '../../src/ops/config/access.ts';
import { writeConfig } from './fixtures/config-file.ts';

async function reportOf(lines: string[], served: Protocol[] = ['nfs', 's3', 'smb']) {
  const { config, problems } = await loadConfig(writeConfig(lines), { tls: 'warning' });
  assert.ok(config, JSON.stringify(problems));
  return accessReport(config, served);
}

const keys = (r: Awaited<ReturnType<typeof reportOf>>) => r.notes.map((n) => `${n.level} ${n.key}`);

/** The console's Access page: what each protocol lets in, and the notes worth a look. */
describe('access report', () => {
  test('1 the defaults: S3 over plain HTTP, SMB protection left to the client; nothing about NFS (root is squashed)', async () => {
    const r = await reportOf([]);
    assert.deepEqual(keys(r), ['info smb.encryption', 'warning s3.tls']);
    assert.deepEqual(r.nfs.exports, [
      {
        path: '/export',
        clients: ['0.0.0.0/0'],
        access: 'rw',
        squash: 'root',
        anon: '65534:65534',
        secure: false,
      },
    ]);
    assert.equal(r.smb.shares[0]?.encryption, 'if_required');
  });

  test('2 each note names the key that changes it, and what the export or share lets in', async () => {
    const r = await reportOf([
      'nfs:',
      '  exports:',
      '    - { path: /open, squash: none }',
      '    - { path: /lab, clients: [10.0.0.0/8], squash: none }',
      '    - { path: /safe, clients: [10.0.0.0/8], squash: none, secure: true }',
      'smb:',
      '  encryption: off',
      '  map_to_guest: bad_user',
      '  shares:',
      '    - { name: public, path: /public, guest_ok: true, hosts_allow: [192.0.2.0/24] }',
      's3: { public_read_buckets: [pictures], cors_origins: ["*"] }',
    ]);
    assert.deepEqual(keys(r), [
      'warning nfs.exports.0.squash',
      'info nfs.exports.1.secure',
      'warning smb.encryption',
      'warning smb.map_to_guest',
      'warning s3.tls',
      'info s3.public_read_buckets',
      'warning s3.cors_origins',
    ]);
    assert.match(r.notes[0]!.text, /Any host may mount \/open/);
    assert.match(r.notes[3]!.text, /who may use public\.$/);
    assert.deepEqual(r.smb.shares[0]?.hostsAllow, ['192.0.2.0/24']);
  });

  test('3 a share asking for more encryption than the server shows what applies; unserved protocols get no notes', async () => {
    const r = await reportOf(
      ['smb:', '  require_signing: true', '  shares: [{ name: vault, path: /vault, encryption: required }]'],
      ['smb'],
    );
    assert.equal(r.smb.shares[0]?.encryption, 'required');
    assert.deepEqual(keys(r), []);
    assert.equal(r.s3.served, false);
  });

  test("4 Mac shares: which have Apple's extensions and Time Machine, and a backup disk without a limit", async () => {
    const r = await reportOf(
      [
        'smb:',
        '  shares:',
        '    - { name: export, path: /export }',
        '    - { name: mac, path: /mac, apple_extensions: true }',
        '    - { name: tm, path: /tm, apple_extensions: true, time_machine: true }',
        '    - { name: capped, path: /capped, apple_extensions: true, time_machine: true, time_machine_max_size: 1TiB }',
      ],
      ['smb'],
    );
    assert.deepEqual(
      r.smb.shares.map((s) => [s.name, s.appleExtensions, s.timeMachine]),
      [
        ['export', false, null],
        ['mac', true, null],
        ['tm', true, { maxBytes: null }],
        ['capped', true, { maxBytes: 2 ** 40 }],
      ],
    );
    assert.deepEqual(keys(r), ['info smb.encryption', 'info smb.shares.2.time_machine_max_size']);
    assert.match(r.notes[1]!.text, /Time Machine share tm has no size limit/);
  });

  test("5 what anyone may read is the buckets as they are: the file's list (unless a block ignores it, or not made yet) and their own policies; their own CORS rules", async () => {
    const { config } = await loadConfig(writeConfig(['s3: { public_read_buckets: [pub, blocked, later] }']), {
      tls: 'warning',
    });
    assert.ok(config);
    const bucket = (name: string, over: Partial<BucketView>): BucketView => ({
      name,
      owner: 'alice',
      ownerUid: 1000,
      ownerGid: 1000,
      created: '2026-12-07T00:00:00.000Z',
      mode: '0755',
      publicRead: false,
      publicAccessBlock: [],
      lifecycle: [],
      tags: [],
      versioning: null,
      objectLock: null,
      policy: null,
      cors: null,
      ...over,
    });
    const r = accessReport(
      config,
      ['s3'],
      [
        bucket('pub', { publicRead: true }),
        bucket('blocked', { publicAccessBlock: ['IgnorePublicAcls'] }),
        bucket('photos', {
          policy: { statements: 1, public: true },
          cors: { rules: 1, origins: ['https://a.example'] },
        }),
        bucket('private', { policy: { statements: 2, public: false } }),
      ],
    );
    assert.deepEqual(r.s3.readableWithoutKey, [
      { bucket: 'pub', by: 'file' },
      { bucket: 'photos', by: 'policy' },
      { bucket: 'later', by: 'file' },
    ]);
    assert.deepEqual(r.s3.bucketCors, [{ bucket: 'photos', origins: ['https://a.example'] }]);
    assert.ok(keys(r).includes('warning bucket photos: policy'), keys(r).join());
  });
});
