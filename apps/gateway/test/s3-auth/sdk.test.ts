/**
 * The AWS SDK for JavaScript v3 (@aws-sdk/client-s3) against authenticate() + bodyVerifier()
 * on a loopback HTTP server: what a real client puts on the wire, including aws-chunked
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies with each checksum algorithm — so AWS's own
 * CRC32/CRC32C/CRC64NVME/SHA implementations check ours.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ChecksumAlgorithm as SdkChecksumAlgorithm,
} from '@aws-sdk/client-s3';
import { type AuthResult, authenticate, bodyVerifier } from '../../src/protocols/s3/auth/index.ts';
import { errorXml, S3Error } from '../../src/protocols/s3/errors.ts';
import { lookupOf } from './helpers.ts';

const REGION = 'us-east-1';
const KEY_ID = 'AKIDSDKCLIENT000001';
const SECRET = 'sdk/client+secret=value';
const lookup = lookupOf({ [KEY_ID]: SECRET });

interface Seen {
  method: string;
  url: string;
  auth?: AuthResult;
  claim?: string;
  body?: Buffer;
  md5Hex?: string;
  checksums?: Record<string, string>;
  error?: S3Error;
}

let server: Server;
let client: S3Client;
const seen: Seen[] = [];

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const head = {
    method: req.method ?? 'GET',
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? '' : url.slice(q + 1),
    headers: req.headers,
  };
  const record: Seen = {
    method: head.method,
    url,
    claim: req.headers['x-amz-content-sha256'] as string | undefined,
  };
  seen.push(record);
  try {
    record.auth = await authenticate(head, lookup, { region: REGION });
    const verifier = bodyVerifier(record.auth, req.headers);
    const out: Buffer[] = [];
    await pipeline(
      req,
      verifier,
      new Writable({
        write(b: Buffer, _e, cb) {
          out.push(b);
          cb();
        },
      }),
    );
    record.body = Buffer.concat(out);
    record.md5Hex = verifier.md5Hex;
    record.checksums = verifier.checksums;
    res.setHeader('ETag', `"${verifier.md5Hex}"`);
    if (head.method === 'GET' && head.rawQuery.includes('list-type=2')) {
      res.setHeader('Content-Type', 'application/xml');
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>',
      );
    } else {
      res.end(head.method === 'GET' ? 'object-bytes' : '');
    }
  } catch (e) {
    const err = e instanceof S3Error ? e : new S3Error('InternalError', String(e));
    record.error = err;
    req.resume();
    res.statusCode = err.status;
    res.setHeader('Content-Type', 'application/xml');
    res.end(errorXml(err, head.rawPath, 'req-1'));
  }
}

before(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new S3Client({
    region: REGION,
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
    maxAttempts: 1,
  });
});

after(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function last(): Seen {
  const s = seen.at(-1);
  if (!s) throw new Error('no request reached the server');
  if (s.error)
    throw new Error(
      `server refused: ${s.error.code}: ${s.error.message} ${JSON.stringify(s.error.extra ?? {})}`,
    );
  return s;
}

const KEY = 'dir/a b+c%d~e*f(ü)😀=&$.txt';
const ALGORITHMS: Array<[SdkChecksumAlgorithm, string]> = [
  ['CRC32', 'crc32'],
  ['CRC32C', 'crc32c'],
  ['CRC64NVME', 'crc64nvme'],
  ['SHA1', 'sha1'],
  ['SHA256', 'sha256'],
];

describe('AWS SDK for JavaScript v3 → authenticate + bodyVerifier', () => {
  test('1 GetObject and ListObjectsV2 with an awkward key and query verify', async () => {
    await client.send(
      new GetObjectCommand({
        Bucket: 'bucket',
        Key: KEY,
        Range: 'bytes=0-3',
        ResponseCacheControl: 'no-cache, max-age=0',
      }),
    );
    const get = last();
    equal(get.auth?.kind, 'sigv4');
    await client.send(
      new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'a b/ü+', Delimiter: '/', StartAfter: '~*' }),
    );
    equal(last().auth?.kind, 'sigv4');
  });

  ALGORITHMS.forEach(([sdkName, ours], i) => {
    test(`${i + 2}a PutObject, Buffer body, ChecksumAlgorithm ${sdkName}: signed payload, checksum header verified`, async () => {
      const data = randomBytes(70_000 + i);
      await client.send(
        new PutObjectCommand({ Bucket: 'bucket', Key: KEY, Body: data, ChecksumAlgorithm: sdkName }),
      );
      const s = last();
      ok(s.body?.equals(data));
      equal(s.md5Hex, createHash('md5').update(data).digest('hex'));
      ok(s.checksums?.[ours], `${ours} verified: ${JSON.stringify(s.checksums)} (claim ${s.claim})`);
    });
    test(`${i + 2}b PutObject, stream body, ChecksumAlgorithm ${sdkName}: aws-chunked with a trailer, verified`, async () => {
      const data = randomBytes(300_000 + i);
      const pieces = [data.subarray(0, 1), data.subarray(1, 100_000), data.subarray(100_000)];
      await client.send(
        new PutObjectCommand({
          Bucket: 'bucket',
          Key: KEY,
          Body: Readable.from(pieces),
          ContentLength: data.length,
          ChecksumAlgorithm: sdkName,
        }),
      );
      const s = last();
      equal(s.claim, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
      equal(s.auth?.kind === 'sigv4' ? s.auth.payload.kind : '', 'streaming-unsigned-trailer');
      ok(s.body?.equals(data));
      deepEqual(Object.keys(s.checksums ?? {}), [ours]);
    });
  });

  test('7 the SDK with the wrong secret gets SignatureDoesNotMatch (and the SDK reads the error document)', async () => {
    const port = (server.address() as AddressInfo).port;
    const wrong = new S3Client({
      region: REGION,
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    try {
      await wrong.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'k' }));
      throw new Error('should fail');
    } catch (e) {
      equal((e as { name?: string }).name, 'SignatureDoesNotMatch');
      equal((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
    } finally {
      wrong.destroy();
    }
  });
});
