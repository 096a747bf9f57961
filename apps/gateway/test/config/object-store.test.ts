import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/types.ts';
import { printed, writeConfig } from './fixtures/config-file.ts';

const MiB = 1024 * 1024;

async function valid(lines: string[]): Promise<{ config: GatewayConfig; file: string }> {
  const file = writeConfig(lines);
  const { config, problems } = await loadConfig(file);
  assert.deepEqual(printed(problems, file), []);
  assert.ok(config);
  return { config, file };
}

describe('transport keys for an S3 data store', () => {
  test('row 1: an s3:// url alone gets AWS, us-east-1, virtual-hosted style and the documented sizes', async () => {
    const { config } = await valid(['transport: { url: "s3://cfs-data/gw" }']);
    assert.deepEqual(config.objectStore, {
      region: 'us-east-1',
      forcePathStyle: false,
      chunkSize: 8 * MiB,
      cacheSize: 256 * MiB,
      writeBufferSize: 256 * MiB,
      requestTimeoutMs: 10_000,
    });
  });

  test('row 2: every key, written as operators write sizes and durations; the secret file is relative to the config', async () => {
    const { config, file } = await valid([
      'transport:',
      '  url: s3://cfs-data/gw-1',
      '  endpoint: http://store-1:7002',
      '  region: eu-west-3',
      '  access_key_id: CFSKEY0123456789',
      '  secret_access_key_file: secrets/s3-secret',
      '  chunk_size: 16MiB',
      '  cache_size: 1GiB',
      '  write_buffer_size: 512MiB',
      '  request_timeout: 2500ms',
    ]);
    assert.deepEqual(config.objectStore, {
      endpoint: 'http://store-1:7002',
      region: 'eu-west-3',
      accessKeyId: 'CFSKEY0123456789',
      secretAccessKeyFile: join(dirname(file), 'secrets/s3-secret'),
      forcePathStyle: true,
      chunkSize: 16 * MiB,
      cacheSize: 1024 * MiB,
      writeBufferSize: 512 * MiB,
      requestTimeoutMs: 2500,
    });
    assert.equal(config.transport.kind === 's3' && config.transport.bucket, 'cfs-data');
  });

  test('row 3: path style can be turned off for an endpoint with bucket DNS, on without one; cache 0 turns the cache off', async () => {
    const off = await valid([
      'transport: { url: "s3://b1/p", endpoint: "https://s3.example.net", force_path_style: false }',
    ]);
    assert.equal(off.config.objectStore.forcePathStyle, false);
    assert.equal(off.config.objectStore.endpoint, 'https://s3.example.net');
    const on = await valid(['transport: { url: "s3://b1/p", force_path_style: true, cache_size: 0 }']);
    assert.equal(on.config.objectStore.forcePathStyle, true);
    assert.equal(on.config.objectStore.cacheSize, 0);
  });

  test('row 3b: direct I/O for a local data directory is off unless transport.direct_io is true', async () => {
    assert.equal((await valid(['log_level: info'])).config.directIo, false);
    assert.equal((await valid(['transport: { direct_io: true }'])).config.directIo, true);
  });

  test('row 3c: small files inline up to transport.inline_max, 16KiB unless set; 0 turns it off', async () => {
    assert.equal((await valid(['log_level: info'])).config.inlineMaxBytes, 16 * 1024);
    assert.equal((await valid(['transport: { inline_max: 64KiB }'])).config.inlineMaxBytes, 64 * 1024);
    assert.equal((await valid(['transport: { inline_max: 0 }'])).config.inlineMaxBytes, 0);
  });

  const refused: [row: number, what: string, lines: string[], expected: string[]][] = [
    [
      14,
      'an inline limit past 256KiB',
      ['transport:', '  inline_max: 1MiB'],
      [
        "FILE:2:15 transport.inline_max: inline size '1MiB' must be at most 256KiB (0 keeps every file in its own blob)",
      ],
    ],
    [
      4,
      'a chunk larger than 64MiB',
      ['transport:', '  url: s3://cfs-data/gw', '  chunk_size: 128MiB'],
      ["FILE:3:15 transport.chunk_size: chunk size '128MiB' must be between 4KiB and 64MiB"],
    ],
    [
      5,
      'a size without a number',
      ['transport:', '  cache_size: lots'],
      [
        "FILE:2:15 transport.cache_size: 'lots' is not a size: write a number and a unit, e.g. 4096, 512MiB, 10GB, 1.5TB",
      ],
    ],
    [
      6,
      'a timeout without a unit',
      ['transport: { request_timeout: 10 }'],
      [
        "FILE:1:31 transport.request_timeout: duration '10' needs a unit: ms, s, m, h, d or w, e.g. 500ms, 10s, 7d",
      ],
    ],
    [
      7,
      'an endpoint that is not http(s), and a region that is not one',
      ['transport:', '  endpoint: ftp://store-1', '  region: Mars'],
      [
        "FILE:2:13 transport.endpoint: endpoint 'ftp://store-1' must start with http:// or https://",
        "FILE:3:11 transport.region: 'Mars' is not a region name like us-east-1",
      ],
    ],
    [
      8,
      'credentials in the endpoint are refused without repeating them',
      ['transport:', '  endpoint: http://AKIA:hunter2@store-1:7002'],
      [
        'FILE:2:13 transport.endpoint: endpoint must not carry credentials: use access_key_id and secret_access_key_file',
      ],
    ],
    [
      9,
      'a misspelt key gets the nearest real one',
      ['transport:', '  chunksize: 8MiB'],
      ["FILE:2:3 transport.chunksize: unknown key 'chunksize' (did you mean 'chunk_size'?)"],
    ],
    [
      10,
      'path style must be true or false',
      ['transport: { force_path_style: "yes" }'],
      ["FILE:1:32 transport.force_path_style: expected true or false, got 'yes'"],
    ],
    [
      11,
      'a zero timeout',
      ['transport: { request_timeout: 0s }'],
      ['FILE:1:31 transport.request_timeout: must be longer than 0ms'],
    ],
    [
      12,
      'an endpoint naming the bucket in its path',
      ['transport: { endpoint: "http://store-1:7002/cfs-data" }'],
      [
        "FILE:1:24 transport.endpoint: endpoint 'http://store-1:7002/cfs-data' must be just scheme, host and port (the bucket is in transport.url)",
      ],
    ],
    [
      13,
      'direct I/O must be true or false',
      ['transport: { direct_io: off }'],
      ["FILE:1:25 transport.direct_io: expected true or false, got 'off'"],
    ],
  ];
  for (const [row, what, lines, expected] of refused) {
    test(`row ${row}: ${what}`, async () => {
      const file = writeConfig(lines);
      const { config, problems } = await loadConfig(file);
      assert.equal(config, undefined);
      assert.deepEqual(printed(problems, file), expected);
      for (const line of printed(problems, file)) assert.doesNotMatch(line, /hunter2/);
    });
  }
});
