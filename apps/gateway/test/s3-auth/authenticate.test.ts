/**
 * authenticate() against an independent signer (@smithy/signature-v4, the AWS SDK's) and the
 * AWS SDK's presigner, with generated requests; refusals; and a fuzz of the parsers.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import fc from 'fast-check';
import {
  authenticate,
  parseAuthorizationHeader,
  type S3RequestHead,
} from '../../src/protocols/s3/auth/index.ts';
import { S3Error } from '../../src/protocols/s3/errors.ts';
import {
  lookupOf,
  NodeSha256,
  queryString,
  rejectsWithCode,
  type SignableRequest,
  sdkEscape,
  sha256Hex,
  toHead,
} from './helpers.ts';

const REGION = 'us-east-1';
const HOST = 'gw.example.test:9000';
const KEY_ID = 'AKIDGATEWAYTEST0001';
const SECRET = 'gatewaySecretKey/with+odd=chars';
const lookup = lookupOf({ [KEY_ID]: SECRET });

function smithySigner(accessKeyId = KEY_ID, secretAccessKey = SECRET, region = REGION): SignatureV4 {
  return new SignatureV4({
    service: 's3',
    region,
    credentials: { accessKeyId, secretAccessKey },
    sha256: NodeSha256,
    // S3: the path is signed as sent, encoded once (what the S3 client configures).
    uriEscapePath: false,
  });
}

function httpRequest(r: SignableRequest): HttpRequest {
  return {
    method: r.method,
    protocol: 'http:',
    hostname: HOST.split(':')[0]!,
    port: 9000,
    path: r.path,
    query: r.query ?? {},
    headers: { host: HOST, ...r.headers },
  } as HttpRequest;
}

/** Signs with smithy and returns the head the server would see. */
async function signed(r: SignableRequest, at: Date, signer = smithySigner()): Promise<S3RequestHead> {
  const out = await signer.sign(httpRequest(r), { signingDate: at });
  return toHead({
    method: r.method,
    path: r.path,
    query: r.query,
    headers: out.headers as Record<string, string>,
  });
}

const NOW = new Date('2025-06-01T12:00:00Z');
const basic = (): SignableRequest => ({
  method: 'PUT',
  path: '/bucket/some%20key',
  query: { partNumber: '1', uploadId: 'abc' },
  headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-colour': 'blue' },
});

describe('authenticate: requests signed by @smithy/signature-v4', () => {
  test('1 a signed request verifies and names the key owner', async () => {
    const r = await authenticate(await signed(basic(), NOW), lookup, { region: REGION, now: NOW });
    equal(r.kind, 'sigv4');
    if (r.kind !== 'sigv4') return;
    deepEqual(r.principal, {
      accessKeyId: KEY_ID,
      userName: `user-${KEY_ID}`,
      uid: 1000,
      gid: 1000,
      gids: [1000, 2000],
    });
    ok(!('secret' in r.principal));
    deepEqual(r.payload, { kind: 'unsigned' });
    equal(r.presigned, false);
  });

  test('2 14 minutes of skew either way is accepted, 16 minutes is RequestTimeTooSkewed', async () => {
    const head = await signed(basic(), NOW);
    for (const minutes of [14, -14]) {
      const r = await authenticate(head, lookup, {
        region: REGION,
        now: new Date(NOW.getTime() + minutes * 60_000),
      });
      equal(r.kind, 'sigv4');
    }
    for (const minutes of [16, -16]) {
      const e = await rejectsWithCode(
        authenticate(head, lookup, { region: REGION, now: new Date(NOW.getTime() + minutes * 60_000) }),
        'RequestTimeTooSkewed',
      );
      equal(e.status, 403);
    }
  });

  test('3 an unknown access key is InvalidAccessKeyId', async () => {
    const head = await signed(basic(), NOW, smithySigner('AKIDUNKNOWN', SECRET));
    const e = await rejectsWithCode(
      authenticate(head, lookup, { region: REGION, now: NOW }),
      'InvalidAccessKeyId',
    );
    equal(e.status, 403);
  });

  test('4 another secret is SignatureDoesNotMatch, with the string to sign for the client', async () => {
    const head = await signed(basic(), NOW, smithySigner(KEY_ID, 'not the secret'));
    const e = await rejectsWithCode(
      authenticate(head, lookup, { region: REGION, now: NOW }),
      'SignatureDoesNotMatch',
    );
    ok(e.extra?.StringToSign?.startsWith('AWS4-HMAC-SHA256\n20250601T120000Z\n'));
  });

  test('5 another region or service in the scope is AuthorizationHeaderMalformed', async () => {
    const wrongRegion = await signed(basic(), NOW, smithySigner(KEY_ID, SECRET, 'eu-west-1'));
    const e = await rejectsWithCode(
      authenticate(wrongRegion, lookup, { region: REGION, now: NOW }),
      'AuthorizationHeaderMalformed',
    );
    equal(e.extra?.Region, REGION);
    const head = await signed(basic(), NOW);
    const auth = String(head.headers.authorization).replace('/s3/', '/ec2/');
    await rejectsWithCode(
      authenticate({ ...head, headers: { ...head.headers, authorization: auth } }, lookup, {
        region: REGION,
        now: NOW,
      }),
      'AuthorizationHeaderMalformed',
    );
  });

  test('6 host must be signed', async () => {
    const head = await signed(basic(), NOW);
    const auth = String(head.headers.authorization).replace('SignedHeaders=host;', 'SignedHeaders=');
    await rejectsWithCode(
      authenticate({ ...head, headers: { ...head.headers, authorization: auth } }, lookup, {
        region: REGION,
        now: NOW,
      }),
      'AuthorizationHeaderMalformed',
    );
  });

  test('7 an x-amz-* header the signature does not cover is AccessDenied', async () => {
    const head = await signed(basic(), NOW);
    const e = await rejectsWithCode(
      authenticate({ ...head, headers: { ...head.headers, 'x-amz-acl': 'public-read' } }, lookup, {
        region: REGION,
        now: NOW,
      }),
      'AccessDenied',
    );
    equal(e.extra?.HeadersNotSigned, 'x-amz-acl');
    // Other unsigned headers are fine (user-agent, content-type added by a proxy…).
    const r = await authenticate({ ...head, headers: { ...head.headers, 'user-agent': 'x' } }, lookup, {
      region: REGION,
      now: NOW,
    });
    equal(r.kind, 'sigv4');
  });

  test('8 a signed header removed from the request is SignatureDoesNotMatch', async () => {
    const head = await signed(basic(), NOW);
    const headers = { ...head.headers };
    delete headers['x-amz-meta-colour'];
    await rejectsWithCode(
      authenticate({ ...head, headers }, lookup, { region: REGION, now: NOW }),
      'SignatureDoesNotMatch',
    );
  });

  test('9 x-amz-content-sha256 is required with the Authorization header', async () => {
    const r = basic();
    r.headers = { 'x-amz-meta-colour': 'blue' };
    const signer = new SignatureV4({
      service: 's3',
      region: REGION,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      sha256: NodeSha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
    const head = await signed(r, NOW, signer);
    await rejectsWithCode(authenticate(head, lookup, { region: REGION, now: NOW }), 'InvalidRequest');
  });

  test('10 a header value in UTF-8 (node hands it over as latin1) verifies', async () => {
    const r = basic();
    r.headers['x-amz-meta-name'] = 'Zoë über 😀';
    const head = await signed(r, NOW);
    head.headers['x-amz-meta-name'] = Buffer.from('Zoë über 😀', 'utf8').toString('latin1');
    equal((await authenticate(head, lookup, { region: REGION, now: NOW })).kind, 'sigv4');
  });

  test('11 x-amz-content-sha256 decides the payload mode', async () => {
    const cases: Array<[string, Record<string, string>, unknown]> = [
      ['UNSIGNED-PAYLOAD', {}, { kind: 'unsigned' }],
      [sha256Hex('hello'), {}, { kind: 'sha256', expectedHex: sha256Hex('hello') }],
      [
        'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        { 'x-amz-decoded-content-length': '5', 'x-amz-trailer': 'x-amz-checksum-crc32' },
        { kind: 'streaming-unsigned-trailer', decodedLength: 5 },
      ],
      [
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        { 'x-amz-decoded-content-length': '5' },
        { kind: 'streaming-signed', trailer: false, decodedLength: 5 },
      ],
      [
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        { 'x-amz-decoded-content-length': '0', 'x-amz-trailer': 'x-amz-checksum-crc32' },
        { kind: 'streaming-signed', trailer: true, decodedLength: 0 },
      ],
    ];
    for (const [claim, extra, mode] of cases) {
      const r = basic();
      r.headers = { 'x-amz-content-sha256': claim, ...extra };
      const result = await authenticate(await signed(r, NOW), lookup, { region: REGION, now: NOW });
      if (result.kind !== 'sigv4') throw new Error('sigv4 expected');
      deepEqual(result.payload, mode, claim);
    }
    const bad = basic();
    bad.headers = { 'x-amz-content-sha256': 'SOMETHING-ELSE' };
    await rejectsWithCode(
      authenticate(await signed(bad, NOW), lookup, { region: REGION, now: NOW }),
      'InvalidArgument',
    );
  });

  test('12 no authentication at all is anonymous; SigV2 and two mechanisms at once are refused', async () => {
    const anon = { method: 'GET', rawPath: '/b/k', rawQuery: 'x=1', headers: { host: HOST } };
    deepEqual(await authenticate(anon, lookup, { region: REGION, now: NOW }), { kind: 'anonymous' });
    equal(lookup.calls >= 0, true);
    await rejectsWithCode(
      authenticate({ ...anon, headers: { host: HOST, authorization: 'AWS AKID:c2lnbmF0dXJl' } }, lookup, {
        region: REGION,
      }),
      'InvalidRequest',
    );
    await rejectsWithCode(
      authenticate({ ...anon, rawQuery: 'AWSAccessKeyId=AKID&Signature=abc&Expires=1' }, lookup, {
        region: REGION,
      }),
      'InvalidRequest',
    );
    const head = await signed(basic(), NOW);
    await rejectsWithCode(
      authenticate({ ...head, rawQuery: `${head.rawQuery}&X-Amz-Algorithm=AWS4-HMAC-SHA256` }, lookup, {
        region: REGION,
        now: NOW,
      }),
      'InvalidArgument',
    );
  });

  test('13 a date that is not ISO 8601 basic is AccessDenied', async () => {
    const head = await signed(basic(), NOW);
    await rejectsWithCode(
      authenticate({ ...head, headers: { ...head.headers, 'x-amz-date': '2025-06-01T12:00:00Z' } }, lookup, {
        region: REGION,
        now: NOW,
      }),
      'AccessDenied',
    );
  });
});

// ---- generated requests ------------------------------------------------------------------

const RUNS = Number(process.env.S3_AUTH_FC_RUNS ?? 20_000);

const segmentChars = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ' ',
      '+',
      '%',
      '~',
      '*',
      '!',
      "'",
      '(',
      ')',
      '$',
      '&',
      '=',
      '@',
      ':',
      ',',
      ';',
      '.',
      '..',
      'ü',
      '😀',
      '%41',
      'a b+c',
    ),
  },
);
const keyArb = fc.array(segmentChars, { minLength: 1, maxLength: 4 }).map((segs) => segs.join(''));
const pathArb = fc
  .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,12}[a-z0-9]$/), keyArb, fc.boolean())
  .map(
    ([bucket, key, trailingSlash]) =>
      `/${bucket}/${key.split('/').map(sdkEscape).join('/')}${trailingSlash ? '/' : ''}`,
  );
// "__proto__" is left out: smithy's canonical query builds a plain object and loses that key.
const queryName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 10 })
  .filter((n) => !/^x-amz-/i.test(n) && n !== '__proto__');
const queryValue = fc.string({ unit: 'grapheme', maxLength: 12 });
const queryArb = fc.dictionary(
  queryName,
  fc.oneof(queryValue, fc.array(queryValue, { minLength: 1, maxLength: 3 })),
  { maxKeys: 5 },
);
const headerValue = fc
  .string({
    unit: fc.constantFrom(
      ...' \tabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,;:=/"()[]{}<>?@!#$%&*+~^`|\'',
    ),
    maxLength: 24,
  })
  .map((v) => v.trim());
const headersArb = fc.dictionary(
  fc.oneof(
    fc.stringMatching(/^x-amz-meta-[a-z0-9]{1,8}$/),
    fc.constantFrom('content-type', 'content-language', 'cache-control', 'x-custom'),
  ),
  headerValue,
  { maxKeys: 4 },
);
const payloadArb = fc.oneof(
  fc.constant('UNSIGNED-PAYLOAD'),
  fc.uint8Array({ maxLength: 64 }).map((b) => sha256Hex(b)),
);
const dateArb = fc
  .integer({ min: Date.UTC(2001, 0, 1), max: Date.UTC(2090, 0, 1) })
  .map((t) => new Date(Math.floor(t / 1000) * 1000));
const credentialsArb = fc.record({
  accessKeyId: fc.stringMatching(/^[A-Z0-9]{16,24}$/),
  secret: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
  region: fc.constantFrom('us-east-1', 'eu-west-3', 'claudefs-local'),
});
const mutationArb = fc.record({
  target: fc.constantFrom('method', 'path', 'query', 'header', 'date'),
  at: fc.nat(),
  pick: fc.nat(),
});
/** Replacement characters: letters that are not hex digits, so no case change can make an equivalent escape. */
const REPLACEMENTS = 'ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ';

function mutate(s: string, at: number, pick: number, alphabet = REPLACEMENTS): string {
  const i = at % s.length;
  let r = alphabet[pick % alphabet.length]!;
  if (r === s[i]) r = alphabet[(pick + 1) % alphabet.length]!;
  return s.slice(0, i) + r + s.slice(i + 1);
}

describe('authenticate: generated requests (fast-check)', () => {
  test(`1 ${RUNS} requests signed with random keys, paths, queries and headers verify; any one-character change fails`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD'),
        pathArb,
        queryArb,
        headersArb,
        payloadArb,
        dateArb,
        credentialsArb,
        mutationArb,
        async (method, path, query, extraHeaders, payload, at, creds, m) => {
          const keyLookup = lookupOf({ [creds.accessKeyId]: creds.secret });
          const request: SignableRequest = {
            method,
            path,
            query,
            headers: { ...extraHeaders, 'x-amz-content-sha256': payload },
          };
          const head = await signed(request, at, smithySigner(creds.accessKeyId, creds.secret, creds.region));
          const opts = { region: creds.region, now: at };
          const result = await authenticate(head, keyLookup, opts);
          if (result.kind !== 'sigv4' || result.principal.accessKeyId !== creds.accessKeyId) return false;

          const mutated: S3RequestHead = { ...head, headers: { ...head.headers } };
          let expected = 'SignatureDoesNotMatch';
          if (m.target === 'method') mutated.method = mutate(head.method, m.at, m.pick);
          else if (m.target === 'path') mutated.rawPath = mutate(head.rawPath, m.at, m.pick);
          else if (m.target === 'query' && head.rawQuery !== '')
            mutated.rawQuery = mutate(head.rawQuery, m.at, m.pick);
          else if (m.target === 'date') {
            mutated.headers['x-amz-date'] = mutate(
              String(head.headers['x-amz-date']),
              m.at % 15,
              m.pick,
              '0123456789',
            );
            expected = ''; // any refusal: signature, scope date, malformed date or skew
          } else {
            // Only signed headers: the signer leaves some out (cache-control, user-agent…).
            const signedNames = /SignedHeaders=([^,]+)/
              .exec(String(head.headers.authorization))![1]!
              .split(';');
            const names = signedNames.filter(
              (n) => !['x-amz-date', 'x-amz-content-sha256'].includes(n) && String(head.headers[n]) !== '',
            );
            const name = names[m.pick % names.length]!;
            mutated.headers[name] = mutate(String(head.headers[name]), m.at, m.pick);
          }
          try {
            await authenticate(mutated, keyLookup, opts);
            return false;
          } catch (e) {
            if (!(e instanceof S3Error)) throw e;
            if (expected !== '' && e.code !== expected)
              throw new Error(`${m.target}: expected ${expected}, got ${e.code}: ${e.message}`);
            return true;
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('presigned URLs', () => {
  const presign = async (r: SignableRequest, at: Date, expiresIn: number) => {
    // What @aws-sdk/s3-request-presigner does: UNSIGNED-PAYLOAD, hoisted into the query.
    const req = httpRequest({ ...r, headers: { ...r.headers, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } });
    const out = await smithySigner().presign(req, { signingDate: at, expiresIn });
    return {
      method: r.method,
      rawPath: r.path,
      rawQuery: queryString(out.query as Record<string, string>),
      headers: { host: HOST },
    };
  };
  const getReq: SignableRequest = {
    method: 'GET',
    path: '/bucket/a%20b/c%2Bd~e%2A',
    query: { 'response-content-type': 'text/plain' },
    headers: {},
  };

  test('1 a URL presigned by @smithy/signature-v4 verifies, with no payload claim but UNSIGNED-PAYLOAD', async () => {
    const head = await presign(getReq, NOW, 3600);
    const r = await authenticate(head, lookup, { region: REGION, now: new Date(NOW.getTime() + 3_599_000) });
    equal(r.kind, 'sigv4');
    if (r.kind === 'sigv4') {
      equal(r.presigned, true);
      deepEqual(r.payload, { kind: 'unsigned' });
    }
  });
  test('2 an expired one is AccessDenied "Request has expired"', async () => {
    const head = await presign(getReq, NOW, 3600);
    const e = await rejectsWithCode(
      authenticate(head, lookup, { region: REGION, now: new Date(NOW.getTime() + 3_601_000) }),
      'AccessDenied',
    );
    equal(e.message, 'Request has expired');
  });
  test('3 tampered ones are refused: path, a parameter, X-Amz-Expires, X-Amz-Date', async () => {
    const head = await presign(getReq, NOW, 3600);
    const opts = { region: REGION, now: NOW };
    await rejectsWithCode(
      authenticate({ ...head, rawPath: '/bucket/a%20b/other' }, lookup, opts),
      'SignatureDoesNotMatch',
    );
    await rejectsWithCode(
      authenticate({ ...head, rawQuery: head.rawQuery.replace('text%2Fplain', 'text%2Fhtml') }, lookup, opts),
      'SignatureDoesNotMatch',
    );
    await rejectsWithCode(
      authenticate(
        { ...head, rawQuery: head.rawQuery.replace('X-Amz-Expires=3600', 'X-Amz-Expires=3601') },
        lookup,
        opts,
      ),
      'SignatureDoesNotMatch',
    );
    await rejectsWithCode(
      authenticate({ ...head, rawQuery: head.rawQuery.replace('T120000Z', 'T120001Z') }, lookup, opts),
      'SignatureDoesNotMatch',
    );
    await rejectsWithCode(authenticate({ ...head, method: 'PUT' }, lookup, opts), 'SignatureDoesNotMatch');
  });
  test('4 X-Amz-Expires above a week, or missing parameters: AuthorizationQueryParametersError', async () => {
    const head = await presign(getReq, NOW, 3600);
    const opts = { region: REGION, now: NOW };
    await rejectsWithCode(
      authenticate(
        { ...head, rawQuery: head.rawQuery.replace('X-Amz-Expires=3600', 'X-Amz-Expires=604801') },
        lookup,
        opts,
      ),
      'AuthorizationQueryParametersError',
    );
    await rejectsWithCode(
      authenticate(
        { ...head, rawQuery: head.rawQuery.replace(/&?X-Amz-SignedHeaders=[^&]*/, '') },
        lookup,
        opts,
      ),
      'AuthorizationQueryParametersError',
    );
  });
  test('5 an unsigned x-amz-* header sent with a presigned URL is AccessDenied', async () => {
    const head = await presign(getReq, NOW, 3600);
    await rejectsWithCode(
      authenticate({ ...head, headers: { ...head.headers, 'x-amz-meta-a': '1' } }, lookup, {
        region: REGION,
        now: NOW,
      }),
      'AccessDenied',
    );
  });
  test('6 a URL dated too far in the future is AccessDenied "Request is not valid yet"', async () => {
    const head = await presign(getReq, new Date(NOW.getTime() + 20 * 60_000), 3600);
    const e = await rejectsWithCode(authenticate(head, lookup, { region: REGION, now: NOW }), 'AccessDenied');
    equal(e.message, 'Request is not valid yet');
  });

  test('7 URLs from @aws-sdk/s3-request-presigner getSignedUrl (GetObject, PutObject with a checksum) verify', async () => {
    const client = new S3Client({
      region: REGION,
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
    });
    try {
      const commands = [
        new GetObjectCommand({
          Bucket: 'photos',
          Key: 'trip 2024/ü+~*(1).jpg',
          ResponseContentDisposition: 'attachment; filename="a b.jpg"',
        }),
        new PutObjectCommand({
          Bucket: 'photos',
          Key: 'up/100% done.txt',
          ContentType: 'text/plain',
          ChecksumAlgorithm: 'CRC32',
        }),
      ];
      for (const command of commands) {
        const url = new URL(await getSignedUrl(client, command, { expiresIn: 900 }));
        const head: S3RequestHead = {
          method: command instanceof GetObjectCommand ? 'GET' : 'PUT',
          rawPath: url.pathname,
          rawQuery: url.search.slice(1),
          headers: { host: url.host, 'content-type': 'text/plain' },
        };
        const r = await authenticate(head, lookup, { region: REGION });
        equal(r.kind, 'sigv4', url.href);
      }
    } finally {
      client.destroy();
    }
  });
});

describe('parser fuzz: only S3Error ever escapes', () => {
  const fragments = fc.constantFrom(
    'AWS4-HMAC-SHA256',
    'AWS4-HMAC-SHA256 ',
    'AWS ',
    'Credential=',
    'SignedHeaders=',
    'Signature=',
    ',',
    ', ',
    '/',
    ';',
    '=',
    ' ',
    'AKID',
    '20250601',
    'us-east-1',
    's3',
    'aws4_request',
    'host',
    'x-amz-date',
    '0'.repeat(64),
    'AKID/20250601/us-east-1/s3/aws4_request',
  );
  const headerArb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.array(fragments, { maxLength: 12 }).map((p) => p.join('')),
    fc.array(fc.oneof(fragments, fc.string({ maxLength: 5 })), { maxLength: 16 }).map((p) => p.join('')),
  );

  test('1 parseAuthorizationHeader on arbitrary strings returns or throws S3Error', () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        try {
          parseAuthorizationHeader(h);
        } catch (e) {
          if (!(e instanceof S3Error)) throw e;
        }
      }),
      { numRuns: 20_000 },
    );
  });

  test('2 well-formed headers signing odd header names (constructor, __proto__, toString, absent ones) are refused with S3Error', async () => {
    const names = fc.constantFrom(
      'host',
      'constructor',
      '__proto__',
      'tostring',
      'hasownproperty',
      'x-amz-date',
      'x-amz-content-sha256',
      'absent',
      'x-amz-meta-a',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(names, { minLength: 1, maxLength: 6 }),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        async (signedHeaders, sig) => {
          const headers: S3RequestHead['headers'] = {
            host: HOST,
            'x-amz-date': '20250601T120000Z',
            'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
            'x-amz-meta-a': 'x',
            authorization: `AWS4-HMAC-SHA256 Credential=${KEY_ID}/20250601/us-east-1/s3/aws4_request, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`,
          };
          try {
            await authenticate({ method: 'GET', rawPath: '/b/k', rawQuery: '', headers }, lookup, {
              region: REGION,
              now: NOW,
            });
            return false;
          } catch (e) {
            if (!(e instanceof S3Error)) throw e;
            return true;
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  const queryFragments = fc.constantFrom(
    'X-Amz-Algorithm=AWS4-HMAC-SHA256',
    'X-Amz-Credential=AKID%2F20250601%2Fus-east-1%2Fs3%2Faws4_request',
    'X-Amz-Date=20250601T120000Z',
    'X-Amz-Date=2025',
    'X-Amz-Expires=3600',
    'X-Amz-Expires=-1',
    'X-Amz-Expires=99999999',
    'X-Amz-SignedHeaders=host',
    'X-Amz-SignedHeaders=',
    `X-Amz-Signature=${'a'.repeat(64)}`,
    'X-Amz-Signature=zz',
    'X-Amz-Content-Sha256=STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    '%',
    '%zz',
    '=',
    '&',
  );
  test('3 authenticate on arbitrary headers, paths and queries resolves or rejects with S3Error', async () => {
    const anyLookup = async (akid: string) => ({
      accessKeyId: akid,
      userName: 'u',
      uid: 1,
      gid: 1,
      gids: [],
      secret: 's',
    });
    await fc.assert(
      fc.asyncProperty(
        fc.option(headerArb, { nil: undefined }),
        fc.string({ maxLength: 40 }),
        fc
          .array(fc.oneof(queryFragments, fc.string({ maxLength: 8 })), { maxLength: 8 })
          .map((p) => p.join('&')),
        fc.option(fc.constantFrom('20250601T120000Z', 'garbage', ''), { nil: undefined }),
        fc.option(fc.constantFrom('UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x', ''), {
          nil: undefined,
        }),
        async (authorization, rawPath, rawQuery, date, claim) => {
          const headers: S3RequestHead['headers'] = { host: HOST };
          if (authorization !== undefined) headers.authorization = authorization;
          if (date !== undefined) headers['x-amz-date'] = date;
          if (claim !== undefined) headers['x-amz-content-sha256'] = claim;
          try {
            await authenticate({ method: 'GET', rawPath, rawQuery, headers }, anyLookup, {
              region: REGION,
              now: NOW,
            });
          } catch (e) {
            if (!(e instanceof S3Error)) throw e;
          }
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
