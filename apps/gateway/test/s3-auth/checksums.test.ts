/**
 * Checksums and the body verifier's non-signature checks.
 *
 * CRC-64/NVME vectors: check("123456789") = 0xAE8B14860A799888 (CRC catalogue; NVM Express
 * NVM Command Set Specification 1.0d §5.2.1.3.4, whose printed value is corrected there);
 * 4096 × 0x00 = 0x6482D367EB22B64E and 4096 × 0xFF = 0xC0DDBA7302ECA3AC (same spec,
 * Figure 122, and Linux crypto/testmgr.h). CRC-32 and CRC-32C check values 0xCBF43926 and
 * 0xE3069283 (CRC catalogue). AWS's own CRC64NVME is exercised against ours in sdk.test.ts.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type AuthResult, bodyVerifier, type PayloadMode } from '../../src/protocols/s3/auth/index.ts';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  Crc64Nvme,
  crc64nvme,
  createChecksum,
  decodeDigest,
} from '../../src/protocols/s3/checksums/index.ts';
import { principalFor, runThrough, s3ErrorWith, split, unsignedTrailerBody } from './helpers.ts';

const CHECK = Buffer.from('123456789');

describe('CRC-64/NVME', () => {
  const rows: Array<[string, Buffer, bigint]> = [
    ['1 check value "123456789"', CHECK, 0xae8b14860a799888n],
    ['2 4096 zero bytes', Buffer.alloc(4096, 0), 0x6482d367eb22b64en],
    ['3 4096 0xFF bytes', Buffer.alloc(4096, 0xff), 0xc0ddba7302eca3acn],
    ['4 no bytes', Buffer.alloc(0), 0n],
  ];
  for (const [name, data, want] of rows) test(name, () => equal(crc64nvme(data), want));

  test('5 the digest is the value big-endian', () => {
    equal(new Crc64Nvme().update(CHECK).digest().toString('hex'), 'ae8b14860a799888');
    equal(createChecksum('crc64nvme').digestBase64(), 'AAAAAAAAAAA=');
  });

  test('6 incremental at every split of the check string, and continuing from a finished CRC', () => {
    for (let i = 0; i <= CHECK.length; i++) {
      const c = new Crc64Nvme();
      c.update(CHECK.subarray(0, i));
      c.update(CHECK.subarray(i));
      equal(c.value(), 0xae8b14860a799888n);
      equal(crc64nvme(CHECK.subarray(i), crc64nvme(CHECK.subarray(0, i))), 0xae8b14860a799888n);
    }
  });

  test('7 slicing-by-8 agrees with the bytewise definition for any data and any split', () => {
    const bitwise = (data: Uint8Array): bigint => {
      let crc = 0xffffffffffffffffn;
      for (const b of data) {
        crc ^= BigInt(b);
        for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0x9a6c9329ac4bc9b5n : crc >> 1n;
      }
      return crc ^ 0xffffffffffffffffn;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (data, cut) => {
        const c = new Crc64Nvme();
        c.update(data.subarray(0, cut));
        c.update(data.subarray(cut));
        return c.value() === bitwise(data);
      }),
      { numRuns: 500 },
    );
  });
});

describe('createChecksum', () => {
  const rows: Array<[ChecksumAlgorithm, string]> = [
    ['crc32', Buffer.from('cbf43926', 'hex').toString('base64')],
    ['crc32c', Buffer.from('e3069283', 'hex').toString('base64')],
    ['crc64nvme', Buffer.from('ae8b14860a799888', 'hex').toString('base64')],
    ['sha1', createHash('sha1').update(CHECK).digest('base64')],
    ['sha256', createHash('sha256').update(CHECK).digest('base64')],
  ];
  rows.forEach(([algorithm, want], i) => {
    test(`${i + 1} ${algorithm} of "123456789", fed in three pieces`, () => {
      const c = createChecksum(algorithm);
      c.update(CHECK.subarray(0, 2));
      c.update(CHECK.subarray(2, 2));
      c.update(CHECK.subarray(2));
      equal(c.digestBase64(), want);
    });
  });
  test('6 decodeDigest takes only canonical base64 of the right length', () => {
    ok(decodeDigest('yfQ5Jg==', 4));
    equal(decodeDigest('yfQ5Jg=', 4), undefined);
    equal(decodeDigest('yfQ5Jg==', 8), undefined);
    equal(decodeDigest('yf!5Jg==', 4), undefined);
    equal(decodeDigest('', 4), undefined);
  });
});

function sigv4(payload: PayloadMode): AuthResult {
  return {
    kind: 'sigv4',
    principal: principalFor('AKID'),
    payload,
    presigned: false,
    signingKey: Buffer.alloc(32),
    seedSignature: '0'.repeat(64),
    amzDate: '20240101T000000Z',
    scope: '20240101/us-east-1/s3/aws4_request',
  };
}

function digestOf(algorithm: ChecksumAlgorithm, data: Buffer): string {
  const c = createChecksum(algorithm);
  c.update(data);
  return c.digestBase64();
}

describe('trailing checksums (STREAMING-UNSIGNED-PAYLOAD-TRAILER, as the AWS SDK sends)', () => {
  const data = randomBytes(200_000);
  const chunks = [data.subarray(0, 65536), data.subarray(65536, 131072), data.subarray(131072)];
  CHECKSUM_ALGORITHMS.forEach((algorithm, i) => {
    const name = `x-amz-checksum-${algorithm}`;
    const headers = { 'x-amz-trailer': name, 'content-encoding': 'aws-chunked' };
    const auth = sigv4({ kind: 'streaming-unsigned-trailer', decodedLength: data.length });
    test(`${i + 1}a ${algorithm}: the right value passes and is reported`, async () => {
      const v = bodyVerifier(auth, headers);
      const { output, error } = await runThrough(
        v,
        split(unsignedTrailerBody(chunks, { [name]: digestOf(algorithm, data) }), [8191]),
      );
      equal(error, undefined);
      ok(output.equals(data));
      deepEqual(v.checksums, { [algorithm]: digestOf(algorithm, data) });
      equal(v.md5Hex, createHash('md5').update(data).digest('hex'));
    });
    test(`${i + 1}b ${algorithm}: the value of other data is BadDigest, before the end`, async () => {
      const other = Buffer.from(data);
      other[0]! ^= 1;
      const { error, ended } = await runThrough(bodyVerifier(auth, headers), [
        unsignedTrailerBody(chunks, { [name]: digestOf(algorithm, other) }),
      ]);
      s3ErrorWith(error, 'BadDigest');
      equal(ended, false);
    });
  });

  test('6 a malformed trailer value: InvalidRequest', async () => {
    const auth = sigv4({ kind: 'streaming-unsigned-trailer', decodedLength: 3 });
    const { error } = await runThrough(bodyVerifier(auth, { 'x-amz-trailer': 'x-amz-checksum-crc32' }), [
      unsignedTrailerBody([Buffer.from('abc')], { 'x-amz-checksum-crc32': 'not base64!' }),
    ]);
    s3ErrorWith(error, 'InvalidRequest');
  });
  test('7 the announced trailer missing: MalformedTrailerError', async () => {
    const auth = sigv4({ kind: 'streaming-unsigned-trailer', decodedLength: 3 });
    const { error } = await runThrough(bodyVerifier(auth, { 'x-amz-trailer': 'x-amz-checksum-crc32' }), [
      unsignedTrailerBody([Buffer.from('abc')], {}),
    ]);
    s3ErrorWith(error, 'MalformedTrailerError');
  });
  test('8 an unsupported x-amz-trailer: InvalidRequest before the body', () => {
    const auth = sigv4({ kind: 'streaming-unsigned-trailer', decodedLength: 3 });
    try {
      bodyVerifier(auth, { 'x-amz-trailer': 'x-amz-meta-foo' });
      throw new Error('should throw');
    } catch (e) {
      s3ErrorWith(e, 'InvalidRequest');
    }
  });
  test('9 the SDK layout without a final empty line, and chunk extensions, are accepted', async () => {
    const auth = sigv4({ kind: 'streaming-unsigned-trailer', decodedLength: 3 });
    const body = Buffer.from(
      `3;ext=1\r\nabc\r\n0\r\nx-amz-checksum-crc32:${digestOf('crc32', Buffer.from('abc'))}\r\n`,
    );
    const { output, error } = await runThrough(
      bodyVerifier(auth, { 'x-amz-trailer': 'x-amz-checksum-crc32' }),
      [body],
    );
    equal(error, undefined);
    equal(output.toString(), 'abc');
  });
});

describe('header checksums, Content-MD5 and x-amz-content-sha256 on a plain body', () => {
  const data = randomBytes(100_000);
  const pieces = () => split(data, [4096, 1, 77]);
  CHECKSUM_ALGORITHMS.forEach((algorithm, i) => {
    test(`${i + 1} x-amz-checksum-${algorithm} header: match passes, mismatch is BadDigest`, async () => {
      const good = bodyVerifier(sigv4({ kind: 'unsigned' }), {
        [`x-amz-checksum-${algorithm}`]: digestOf(algorithm, data),
      });
      const r = await runThrough(good, pieces());
      equal(r.error, undefined);
      deepEqual(good.checksums, { [algorithm]: digestOf(algorithm, data) });
      const bad = bodyVerifier(sigv4({ kind: 'unsigned' }), {
        [`x-amz-checksum-${algorithm}`]: digestOf(algorithm, data.subarray(1)),
      });
      const r2 = await runThrough(bad, pieces());
      s3ErrorWith(r2.error, 'BadDigest');
      equal(r2.ended, false);
    });
  });
  test('6 a malformed x-amz-checksum header: InvalidRequest before the body', () => {
    try {
      bodyVerifier(sigv4({ kind: 'unsigned' }), { 'x-amz-checksum-sha256': 'AAAA' });
      throw new Error('should throw');
    } catch (e) {
      s3ErrorWith(e, 'InvalidRequest');
    }
  });
  test('7 Content-MD5: match passes; mismatch BadDigest; malformed InvalidDigest before the body', async () => {
    const md5 = createHash('md5').update(data).digest('base64');
    equal(
      (await runThrough(bodyVerifier(sigv4({ kind: 'none' }), { 'content-md5': md5 }), pieces())).error,
      undefined,
    );
    const other = createHash('md5').update('x').digest('base64');
    s3ErrorWith(
      (await runThrough(bodyVerifier(sigv4({ kind: 'none' }), { 'content-md5': other }), pieces())).error,
      'BadDigest',
    );
    for (const malformed of ['', 'abc', 'AAAAAAAAAAAAAAAAAAAAAA', '!!!!!!!!!!!!!!!!!!!!!!!!']) {
      try {
        bodyVerifier(sigv4({ kind: 'none' }), { 'content-md5': malformed });
        throw new Error(`should throw for ${malformed}`);
      } catch (e) {
        s3ErrorWith(e, 'InvalidDigest');
      }
    }
  });
  test('8 x-amz-content-sha256: match passes, mismatch is XAmzContentSHA256Mismatch before the end', async () => {
    const hex = createHash('sha256').update(data).digest('hex');
    equal(
      (await runThrough(bodyVerifier(sigv4({ kind: 'sha256', expectedHex: hex }), {}), pieces())).error,
      undefined,
    );
    const wrong = createHash('sha256').update('x').digest('hex');
    const r = await runThrough(bodyVerifier(sigv4({ kind: 'sha256', expectedHex: wrong }), {}), pieces());
    s3ErrorWith(r.error, 'XAmzContentSHA256Mismatch');
    equal(r.ended, false);
  });
  test('9 a Content-Length the body does not reach: IncompleteBody', async () => {
    const r = await runThrough(
      bodyVerifier(sigv4({ kind: 'unsigned' }), { 'content-length': String(data.length + 1) }),
      pieces(),
    );
    s3ErrorWith(r.error, 'IncompleteBody');
  });
  test('10 anonymous: the payload claim still applies; signed chunks cannot be verified', async () => {
    const hex = createHash('sha256').update('x').digest('hex');
    const r = await runThrough(
      bodyVerifier({ kind: 'anonymous' }, { 'x-amz-content-sha256': hex }),
      pieces(),
    );
    s3ErrorWith(r.error, 'XAmzContentSHA256Mismatch');
    try {
      bodyVerifier(
        { kind: 'anonymous' },
        { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'x-amz-decoded-content-length': '1' },
      );
      throw new Error('should throw');
    } catch (e) {
      s3ErrorWith(e, 'InvalidRequest');
    }
  });
});

describe('bounded memory', () => {
  test('1 512 MiB of aws-chunked body with CRC64NVME and CRC32C trailers (and MD5): memory does not grow with the body', async () => {
    const chunk = randomBytes(1 << 20);
    const count = 512;
    const framed = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    ]);
    const expected = new Map<ChecksumAlgorithm, ReturnType<typeof createChecksum>>();
    for (const a of ['crc64nvme', 'crc32c'] as const) expected.set(a, createChecksum(a));
    for (let i = 0; i < count; i++) for (const c of expected.values()) c.update(chunk);
    const trailers: Record<string, string> = {};
    for (const [a, c] of expected) trailers[`x-amz-checksum-${a}`] = c.digestBase64();
    const tail = unsignedTrailerBody([], trailers);

    const verifier = bodyVerifier(
      sigv4({ kind: 'streaming-unsigned-trailer', decodedLength: chunk.length * count }),
      {
        'x-amz-trailer': Object.keys(trailers).join(','),
      },
    );
    global.gc?.();
    const before = process.memoryUsage();
    let peak = 0;
    let received = 0;
    await pipeline(
      Readable.from(
        (function* () {
          for (let i = 0; i < count; i++) {
            // Mis-aligned pieces, so that headers and CRLFs straddle writes.
            yield framed.subarray(0, 1000);
            yield framed.subarray(1000);
            if (i % 32 === 0) {
              const m = process.memoryUsage();
              peak = Math.max(peak, m.rss - before.rss);
            }
          }
          yield tail;
        })(),
      ),
      verifier,
      new Writable({
        write(b: Buffer, _e, cb) {
          received += b.length;
          cb();
        },
      }),
    );
    equal(received, chunk.length * count);
    deepEqual(Object.keys(verifier.checksums).sort(), ['crc32c', 'crc64nvme']);
    ok(peak < 96 * 1024 * 1024, `RSS grew by ${Math.round(peak / 1048576)} MiB while streaming 512 MiB`);
  });
});
