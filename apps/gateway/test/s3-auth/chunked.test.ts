/**
 * aws-chunked uploads with signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]). No
 * client in use here sends them, so the vectors are AWS's published examples:
 * - S3 API Reference, "Signature Calculations for the Authorization Header: Transferring
 *   Payload in Multiple Chunks": PUT /examplebucket/chunkObject.txt, 66560 bytes of 'a' in a
 *   65536-byte and a 1024-byte chunk; seed signature 4f232c43…, chunk signatures ad80c730…,
 *   0055627c…, final b6c6ea8a…
 * - S3 API Reference, "Signature calculations for trailing headers (chunked uploads)": the
 *   same body with x-amz-trailer: x-amz-checksum-crc32c; seed 106e2a8a…, chunks b474d886…,
 *   1c1344b1…, 2ca2aba2…, trailer x-amz-checksum-crc32c:sOO8/Q==, trailer signature d81f82fc….
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  authenticate,
  bodyVerifier,
  canonicalTrailer,
  chunkStringToSign,
  signature,
  signingKey,
  trailerStringToSign,
} from '../../src/protocols/s3/auth/index.ts';
import { S3Error } from '../../src/protocols/s3/errors.ts';
import {
  AWS_EXAMPLE,
  EXAMPLE_TIME,
  lookupOf,
  runThrough,
  s3ErrorWith,
  sha256Hex,
  signedChunkedBody,
  split,
} from './helpers.ts';

const AMZ_DATE = '20130524T000000Z';
const SCOPE = '20130524/us-east-1/s3/aws4_request';
const KEY = signingKey(AWS_EXAMPLE.secretAccessKey, '20130524', 'us-east-1', 's3');
const lookup = lookupOf({ [AWS_EXAMPLE.accessKeyId]: AWS_EXAMPLE.secretAccessKey });
const DATA = Buffer.alloc(66560, 'a');

const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const CHUNK_SIGS = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];
const TRAILER_SEED = '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e';
const TRAILER_CHUNK_SIGS = [
  'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
  '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
  '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
];
const TRAILER_SIG = 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435';

function exampleHead(trailer: boolean, overrides: Record<string, string> = {}) {
  const signedHeaders = trailer
    ? 'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer'
    : 'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class';
  const headers: Record<string, string> = {
    host: 's3.amazonaws.com',
    'x-amz-date': AMZ_DATE,
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    authorization: `AWS4-HMAC-SHA256 Credential=${AWS_EXAMPLE.accessKeyId}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${trailer ? TRAILER_SEED : SEED}`,
    'x-amz-content-sha256': trailer
      ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
      : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    ...(trailer ? { 'x-amz-trailer': 'x-amz-checksum-crc32c' } : { 'content-length': '66824' }),
    ...overrides,
  };
  return { method: 'PUT', rawPath: '/examplebucket/chunkObject.txt', rawQuery: '', headers };
}

function exampleBody(sigs: readonly string[], trailer = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
    DATA.subarray(0, 65536),
    Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
    DATA.subarray(65536),
    Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n${trailer}\r\n`),
  ]);
}

const EXAMPLE_BODY = exampleBody(CHUNK_SIGS);
const TRAILER_LINES = `x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:${TRAILER_SIG}\r\n`;
const TRAILER_BODY = exampleBody(TRAILER_CHUNK_SIGS, TRAILER_LINES);

async function exampleAuth(trailer: boolean, overrides: Record<string, string> = {}) {
  const head = exampleHead(trailer, overrides);
  const auth = await authenticate(head, lookup, { region: 'us-east-1', now: EXAMPLE_TIME });
  return { head, auth };
}

describe('chunked upload example (sigv4-streaming)', () => {
  test('1 the seed signature verifies and carries what the chunk chain needs', async () => {
    const { auth } = await exampleAuth(false);
    equal(auth.kind, 'sigv4');
    if (auth.kind !== 'sigv4') return;
    equal(auth.seedSignature, SEED);
    deepEqual(auth.payload, { kind: 'streaming-signed', trailer: false, decodedLength: 66560 });
    equal(auth.amzDate, AMZ_DATE);
    equal(auth.scope, SCOPE);
    equal(auth.signingKey.toString('hex'), KEY.toString('hex'));
  });

  test('2 each chunk signature, exactly as published', () => {
    let previous = SEED;
    [65536, 1024, 0].forEach((n, i) => {
      const sig = signature(
        KEY,
        chunkStringToSign(AMZ_DATE, SCOPE, previous, sha256Hex(DATA.subarray(0, n))),
      );
      equal(sig, CHUNK_SIGS[i]);
      previous = sig;
    });
    equal(EXAMPLE_BODY.length, 66824, 'the documented Content-Length');
  });

  test('3 the body decodes to the object, however it is split', async () => {
    const { head, auth } = await exampleAuth(false);
    for (const sizes of [[EXAMPLE_BODY.length], [1], [7, 4096, 13], [65536 + 86], [86, 65536, 1, 1, 1]]) {
      const v = bodyVerifier(auth, head.headers);
      const { output, error, ended } = await runThrough(v, split(EXAMPLE_BODY, sizes));
      equal(error, undefined, `split ${sizes}`);
      ok(ended);
      ok(output.equals(DATA));
      equal(v.bytes, 66560);
      equal(v.md5Hex, createHash('md5').update(DATA).digest('hex'));
      deepEqual(v.checksums, {});
    }
  });

  test('4 a corrupted chunk signature in the middle: SignatureDoesNotMatch before the end, nothing output past that chunk', async () => {
    const { head, auth } = await exampleAuth(false);
    const bad = [...CHUNK_SIGS];
    bad[1] = `${bad[1]!.slice(0, 63)}${bad[1]!.endsWith('7') ? '8' : '7'}`;
    const v = bodyVerifier(auth, head.headers);
    const { output, error, ended } = await runThrough(v, split(exampleBody(bad), [1000]));
    s3ErrorWith(error, 'SignatureDoesNotMatch');
    equal(ended, false);
    ok(output.length <= 65536 + 1024, `output ${output.length} bytes`);
  });

  test('5 four chunks, the second signed wrongly: no byte of the third or fourth is output', async () => {
    const chain = { signingKey: KEY, amzDate: AMZ_DATE, scope: SCOPE, seedSignature: SEED };
    const chunks = [
      Buffer.alloc(10000, 1),
      Buffer.alloc(10000, 2),
      Buffer.alloc(10000, 3),
      Buffer.alloc(10000, 4),
    ];
    const { body, signatures } = signedChunkedBody(chain, chunks);
    const tampered = Buffer.from(body.toString('latin1').replace(signatures[1]!, signatures[2]!), 'latin1');
    const { head, auth } = await exampleAuth(false);
    // The decoded length comes from the auth result's payload mode: set it for this body.
    const modeAuth =
      auth.kind === 'sigv4'
        ? { ...auth, payload: { kind: 'streaming-signed' as const, trailer: false, decodedLength: 40000 } }
        : auth;
    const { output, error } = await runThrough(bodyVerifier(modeAuth, head.headers), split(tampered, [512]));
    s3ErrorWith(error, 'SignatureDoesNotMatch');
    ok(!output.includes(3) && !output.includes(4), 'nothing past the bad chunk');
    ok(output.subarray(0, 10000).equals(chunks[0]!));
    // The untampered body passes.
    const ok2 = await runThrough(bodyVerifier(modeAuth, head.headers), split(body, [333]));
    equal(ok2.error, undefined);
    ok(ok2.output.equals(Buffer.concat(chunks)));
  });

  const refusals: Array<[string, () => Buffer, string, Record<string, string>?]> = [
    ['6 one data byte changed', () => Buffer.from(EXAMPLE_BODY).fill('b', 200, 201), 'SignatureDoesNotMatch'],
    [
      '7 the final chunk signature changed',
      () => exampleBody([CHUNK_SIGS[0]!, CHUNK_SIGS[1]!, CHUNK_SIGS[0]!]),
      'SignatureDoesNotMatch',
    ],
    [
      '8 chunks swapped (signatures kept in place)',
      () => exampleBody([CHUNK_SIGS[1]!, CHUNK_SIGS[0]!, CHUNK_SIGS[2]!]),
      'SignatureDoesNotMatch',
    ],
    ['9 body cut before the final chunk', () => EXAMPLE_BODY.subarray(0, 65536 + 86 + 2), 'IncompleteBody'],
    ['10 body cut inside a chunk', () => EXAMPLE_BODY.subarray(0, 1000), 'IncompleteBody'],
    [
      '11 a chunk size that is not hex',
      () => Buffer.from(EXAMPLE_BODY.toString('latin1').replace('400;', '4g0;'), 'latin1'),
      'InvalidRequest',
    ],
    [
      '12 chunk data not followed by CRLF',
      () => Buffer.from(EXAMPLE_BODY.toString('latin1').replace('\r\n400;', '\n\n400;'), 'latin1'),
      'InvalidRequest',
    ],
    ['13 data after the end', () => Buffer.concat([EXAMPLE_BODY, Buffer.from('x')]), 'InvalidRequest'],
    [
      '14 the signature extension missing',
      () =>
        Buffer.from(
          EXAMPLE_BODY.toString('latin1').replace(`400;chunk-signature=${CHUNK_SIGS[1]}`, '400'),
          'latin1',
        ),
      'SignatureDoesNotMatch',
    ],
    [
      '15 decoded length larger than declared',
      () => EXAMPLE_BODY,
      'IncompleteBody',
      { 'x-amz-decoded-content-length': '66559' },
    ],
  ];
  for (const [name, body, code, overrides] of refusals) {
    test(name, async () => {
      const { head, auth } = await exampleAuth(false);
      const a =
        overrides && auth.kind === 'sigv4'
          ? {
              ...auth,
              payload: {
                kind: 'streaming-signed' as const,
                trailer: false,
                decodedLength: Number(overrides['x-amz-decoded-content-length']),
              },
            }
          : auth;
      const { error, ended } = await runThrough(bodyVerifier(a, head.headers), split(body(), [4096]));
      s3ErrorWith(error, code);
      equal(ended, false);
    });
  }

  test('16 decoded length smaller than declared: IncompleteBody at the end', async () => {
    const { head, auth } = await exampleAuth(false);
    if (auth.kind !== 'sigv4') throw new Error('sigv4 expected');
    const a = {
      ...auth,
      payload: { kind: 'streaming-signed' as const, trailer: false, decodedLength: 66561 },
    };
    const { error } = await runThrough(bodyVerifier(a, head.headers), [EXAMPLE_BODY]);
    s3ErrorWith(error, 'IncompleteBody');
  });

  test('17 x-amz-decoded-content-length missing: MissingContentLength before the body', async () => {
    const head = exampleHead(false);
    delete (head.headers as Record<string, string | undefined>)['x-amz-decoded-content-length'];
    // The header is signed, so the check that fires first is its absence from the payload mode.
    try {
      await authenticate(head, lookup, { region: 'us-east-1', now: EXAMPLE_TIME });
      throw new Error('should fail');
    } catch (e) {
      ok(e instanceof S3Error && e.code === 'MissingContentLength', String(e));
    }
  });
});

describe('trailing headers example (sigv4-streaming-trailers)', () => {
  test('1 seed, chunk and trailer signatures exactly as published', async () => {
    const { auth } = await exampleAuth(true);
    equal(auth.kind, 'sigv4');
    if (auth.kind !== 'sigv4') return;
    deepEqual(auth.payload, { kind: 'streaming-signed', trailer: true, decodedLength: 66560 });
    let previous = TRAILER_SEED;
    [65536, 1024, 0].forEach((n, i) => {
      const sig = signature(
        KEY,
        chunkStringToSign(AMZ_DATE, SCOPE, previous, sha256Hex(DATA.subarray(0, n))),
      );
      equal(sig, TRAILER_CHUNK_SIGS[i]);
      previous = sig;
    });
    equal(canonicalTrailer([['x-amz-checksum-crc32c', 'sOO8/Q==']]), 'x-amz-checksum-crc32c:sOO8/Q==\n');
    equal(
      signature(
        KEY,
        trailerStringToSign(AMZ_DATE, SCOPE, previous, sha256Hex('x-amz-checksum-crc32c:sOO8/Q==\n')),
      ),
      TRAILER_SIG,
    );
  });

  test('2 the body verifies; the CRC32C trailer is checked and reported', async () => {
    const { head, auth } = await exampleAuth(true);
    for (const sizes of [[TRAILER_BODY.length], [1], [100, 3]]) {
      const v = bodyVerifier(auth, head.headers);
      const { output, error } = await runThrough(v, split(TRAILER_BODY, sizes));
      equal(error, undefined);
      ok(output.equals(DATA));
      deepEqual(v.checksums, { crc32c: 'sOO8/Q==' });
    }
  });

  test('3 an extra empty line before the trailers is tolerated', async () => {
    const { head, auth } = await exampleAuth(true);
    const body = exampleBody(TRAILER_CHUNK_SIGS, `\r\n${TRAILER_LINES}`);
    const { error } = await runThrough(bodyVerifier(auth, head.headers), [body]);
    equal(error, undefined);
  });

  const refusals: Array<[string, string, string]> = [
    [
      '4 trailer signature wrong',
      TRAILER_LINES.replace(TRAILER_SIG, TRAILER_CHUNK_SIGS[0]!),
      'SignatureDoesNotMatch',
    ],
    [
      '5 checksum changed (the trailer signature no longer matches)',
      TRAILER_LINES.replace('sOO8/Q==', 'sOO8/Q=A'),
      'SignatureDoesNotMatch',
    ],
    ['6 trailer signature missing', 'x-amz-checksum-crc32c:sOO8/Q==\r\n', 'MalformedTrailerError'],
    ['7 checksum trailer missing', `x-amz-trailer-signature:${TRAILER_SIG}\r\n`, 'SignatureDoesNotMatch'],
    [
      '8 a trailer that was not announced',
      `x-amz-checksum-sha1:AAAA\r\n${TRAILER_LINES}`,
      'MalformedTrailerError',
    ],
    ['9 a malformed trailer line', `no colon here\r\n${TRAILER_LINES}`, 'MalformedTrailerError'],
  ];
  for (const [name, lines, code] of refusals) {
    test(name, async () => {
      const { head, auth } = await exampleAuth(true);
      const { error, ended } = await runThrough(bodyVerifier(auth, head.headers), [
        exampleBody(TRAILER_CHUNK_SIGS, lines),
      ]);
      s3ErrorWith(error, code);
      equal(ended, false);
    });
  }

  test('10 a wrong checksum correctly signed: BadDigest', async () => {
    const { head, auth } = await exampleAuth(true);
    const wrong = 'AAAAAA==';
    const sig = signature(
      KEY,
      trailerStringToSign(
        AMZ_DATE,
        SCOPE,
        TRAILER_CHUNK_SIGS[2]!,
        sha256Hex(`x-amz-checksum-crc32c:${wrong}\n`),
      ),
    );
    const body = exampleBody(
      TRAILER_CHUNK_SIGS,
      `x-amz-checksum-crc32c:${wrong}\r\nx-amz-trailer-signature:${sig}\r\n`,
    );
    const { error } = await runThrough(bodyVerifier(auth, head.headers), [body]);
    s3ErrorWith(error, 'BadDigest');
  });

  test('11 no x-amz-trailer header: refused before the body', async () => {
    const { head, auth } = await exampleAuth(true);
    const headers = { ...head.headers };
    delete (headers as Record<string, string | undefined>)['x-amz-trailer'];
    try {
      bodyVerifier(auth, headers);
      throw new Error('should throw');
    } catch (e) {
      s3ErrorWith(e, 'InvalidRequest');
    }
  });
});

describe('aws-chunked fuzz', () => {
  const chain = { signingKey: KEY, amzDate: AMZ_DATE, scope: SCOPE, seedSignature: SEED };
  const chunks = [Buffer.alloc(300, 'x'), Buffer.alloc(200, 'y'), Buffer.alloc(57, 'z')];
  const original = Buffer.concat(chunks);
  const { body } = signedChunkedBody(chain, chunks);
  const auth = {
    kind: 'sigv4' as const,
    principal: { accessKeyId: 'AKID', userName: 'u', uid: 1, gid: 1, gids: [] },
    payload: { kind: 'streaming-signed' as const, trailer: false, decodedLength: original.length },
    presigned: false,
    ...chain,
  };

  test('1 a signed body with random edits: whatever is accepted decodes to exactly the signed data; refusals are S3Errors', async () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 4 }),
        async (edits, sizes) => {
          let b = Buffer.from(body);
          for (const e of edits) {
            const at = e.at % (b.length + 1);
            if (e.kind === 'flip' && at < b.length) b[at]! ^= 1 << e.bit;
            else if (e.kind === 'cut') b = b.subarray(0, at);
            else if (e.kind === 'insert')
              b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
            else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
          }
          const { output, error } = await runThrough(bodyVerifier(auth, {}), split(b, sizes));
          if (error === undefined) return output.equals(original);
          if (!(error instanceof S3Error)) throw error;
          return true;
        },
      ),
      { numRuns: 3_000 },
    );
  });

  test('2 arbitrary bytes as an unsigned-trailer body: only S3Errors, never anything else', async () => {
    const unsigned = { ...auth, payload: { kind: 'streaming-unsigned-trailer' as const, decodedLength: 16 } };
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
      fc
        .array(
          fc.constantFrom(
            '10\r\n',
            '0\r\n',
            '\r\n',
            'x-amz-checksum-crc32:AAAAAA==\r\n',
            'ffffffffffffff\r\n',
            ';a=b',
            'abcdefghijklmnop',
            ':',
            '\n',
          ),
          {
            maxLength: 10,
          },
        )
        .map((p) => Buffer.from(p.join(''))),
    );
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        const { error } = await runThrough(
          bodyVerifier(unsigned, { 'x-amz-trailer': 'x-amz-checksum-crc32' }),
          [b],
        );
        if (error !== undefined && !(error instanceof S3Error)) throw error;
      }),
      { numRuns: 3_000 },
    );
  });
});
