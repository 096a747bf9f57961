import { ok } from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { authenticatePostPolicy } from '../../src/protocols/s3/auth/post-policy.ts';
import { signingKey } from '../../src/protocols/s3/auth/sigv4.ts';
import { route, type Target } from '../../src/protocols/s3/dispatch.ts';
import { S3Error } from '../../src/protocols/s3/errors.ts';
import { checkBucketName, keyPath, MAX_KEY_BYTES } from '../../src/protocols/s3/keys.ts';
import { parseLifecycle } from '../../src/protocols/s3/lifecycle/rules.ts';
import { parseTarget } from '../../src/protocols/s3/request.ts';
import { parseCompleteRequest, parseDeleteRequest } from '../../src/protocols/s3/xml.ts';
import { fuzzCases, fuzzSeed, runFuzz } from '../support/fuzz.ts';

/** Each property either returns or throws an S3Error — never anything else, never a hang. */
function onlyS3Errors(run: () => void): boolean {
  try {
    run();
  } catch (e) {
    if (!(e instanceof S3Error)) throw e;
    ok(e.status >= 400 && e.status < 600);
  }
  return true;
}

const pathChar = fc.constantFrom(
  'a',
  'b',
  '/',
  '.',
  '%',
  '2',
  'F',
  'z',
  '?',
  '&',
  '=',
  ' ',
  '\0',
  'é',
  '+',
  '-',
  '~',
);
const urlPath = fc.array(pathChar, { maxLength: 40 }).map((cs) => `/${cs.join('')}`);
const methods = fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS');
const queryName = fc.constantFrom(
  'uploads',
  'uploadId',
  'partNumber',
  'delete',
  'location',
  'acl',
  'list-type',
  'prefix',
  'x-id',
  'versionId',
  'tagging',
  'versioning',
  'versions',
  'key-marker',
  'policy',
  'marker',
  'X-Amz-Date',
  'bogus',
  '',
);
const query = fc
  .array(fc.tuple(queryName, fc.string({ maxLength: 6 })), { maxLength: 4 })
  .map((kv) => kv.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'));

const xmlPiece = fc.constantFrom(
  '<Delete>',
  '</Delete>',
  '<Object>',
  '</Object>',
  '<Key>',
  '</Key>',
  '<Quiet>',
  '</Quiet>',
  'true',
  'k',
  '&amp;',
  '&',
  '<',
  '<!DOCTYPE a>',
  '<Part>',
  '</Part>',
  '<PartNumber>',
  '</PartNumber>',
  '<ETag>',
  '</ETag>',
  '1',
  '"x"',
  '<CompleteMultipartUpload>',
  '</CompleteMultipartUpload>',
  '<?xml version="1.0"?>',
  ' ',
  '<![CDATA[x]]>',
  '<a b="c"/>',
);
const xmlDoc = fc.array(xmlPiece, { maxLength: 30 }).map((p) => p.join(''));

/** Cases per property: 20,000 in CI, times FUZZ_CASES_SCALE. */
const RUNS = fuzzCases(20_000);
const HALF = fuzzCases(10_000);

/** fast-check's settings for one property: its case count and a seed FUZZ_SEED can replay. */
const runs = (name: string, numRuns: number) => ({ numRuns, seed: fuzzSeed(name) });

test(`1 request target parsing, key mapping and bucket checks: only S3 errors (${RUNS} cases)`, async () => {
  await runFuzz('S3 request targets and keys', RUNS, () =>
    fc.assert(
      fc.property(
        urlPath,
        query,
        fc.option(fc.constantFrom('bkt.s3.local', 's3.local', 'x', 'a.b.s3.local:9000')),
        (path, q, host) =>
          onlyS3Errors(() => {
            const t = parseTarget(q ? `${path}?${q}` : path, host ?? undefined, 's3.local');
            if (t.bucket !== undefined) onlyS3Errors(() => checkBucketName(t.bucket!));
            if (t.key !== undefined) {
              const kp = keyPath(t.key);
              ok(Buffer.byteLength(t.key) <= MAX_KEY_BYTES);
              for (const seg of [...kp.dirs, kp.name])
                ok(seg !== '' && seg !== '.' && seg !== '..' && !seg.includes('/') && !seg.includes('\0'));
            }
          }),
      ),
      runs('s3 targets', RUNS),
    ),
  );
});

test(`2 routing: every request gets one operation or an S3 error (${RUNS} cases)`, async () => {
  await runFuzz('S3 routing', RUNS, () =>
    fc.assert(
      fc.property(
        methods,
        fc.constantFrom<Target>('service', 'bucket', 'object'),
        query,
        fc.boolean(),
        (m, target, q, copy) =>
          onlyS3Errors(() => {
            const row = route(
              m,
              target,
              parseTarget(`/b?${q}`, undefined, undefined).query,
              copy ? { 'x-amz-copy-source': '/a/b' } : {},
            );
            ok(row.method === m && row.target === target);
          }),
      ),
      runs('s3 routing', RUNS),
    ),
  );
});

test(`3 DeleteObjects bodies: parsed or MalformedXML (${RUNS} cases)`, async () => {
  await runFuzz('S3 XML bodies', RUNS, () =>
    fc.assert(
      fc.property(xmlDoc, (x) => onlyS3Errors(() => parseDeleteRequest(x))),
      runs('s3 DeleteObjects', RUNS),
    ),
  );
});

test(`4 CompleteMultipartUpload bodies: parsed or MalformedXML (${RUNS} cases)`, async () => {
  await runFuzz('S3 XML bodies', RUNS, () =>
    fc.assert(
      fc.property(xmlDoc, (x) =>
        onlyS3Errors(() => {
          for (const p of parseCompleteRequest(x)) ok(Number.isInteger(p.partNumber));
        }),
      ),
      runs('s3 CompleteMultipartUpload', RUNS),
    ),
  );
});

test(`5 arbitrary strings as keys and XML: only S3 errors (2 × ${HALF} cases)`, async () => {
  await runFuzz('S3 request targets and keys', HALF, () =>
    fc.assert(
      fc.property(fc.string({ maxLength: 1100, unit: 'binary' }), (s) => onlyS3Errors(() => keyPath(s))),
      runs('s3 key strings', HALF),
    ),
  );
  await runFuzz('S3 XML bodies', HALF, () =>
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => onlyS3Errors(() => parseDeleteRequest(s))),
      runs('s3 XML strings', HALF),
    ),
  );
});

const lifecyclePiece = fc.constantFrom(
  '<LifecycleConfiguration>',
  '</LifecycleConfiguration>',
  '<Rule>',
  '</Rule>',
  '<ID>',
  '</ID>',
  '<Status>Enabled</Status>',
  '<Status>',
  '</Status>',
  '<Filter>',
  '</Filter>',
  '<And>',
  '</And>',
  '<Prefix>',
  '</Prefix>',
  'logs/',
  '<Tag><Key>k</Key><Value>v</Value></Tag>',
  '<Tag>',
  '<ObjectSizeGreaterThan>',
  '</ObjectSizeGreaterThan>',
  '<ObjectSizeLessThan>5</ObjectSizeLessThan>',
  '<Expiration>',
  '</Expiration>',
  '<Days>',
  '</Days>',
  '<Date>2026-12-01T00:00:00Z</Date>',
  '<Date>',
  '</Date>',
  '<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
  '<Transition><Days>1</Days></Transition>',
  '<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>',
  '7',
  '0',
  '-1',
  '99999999',
  '&amp;',
  '<',
  ' ',
);
const lifecycleDoc = fc.array(lifecyclePiece, { maxLength: 40 }).map((p) => p.join(''));

test(`6 lifecycle configurations: parsed or S3's error (${RUNS} cases)`, async () => {
  await runFuzz('S3 XML bodies', RUNS, () =>
    fc.assert(
      fc.property(lifecycleDoc, (x) =>
        onlyS3Errors(() => {
          for (const r of parseLifecycle(x))
            ok(
              r.expirationDays !== undefined ||
                r.expirationDate !== undefined ||
                r.abortUploadsAfterDays !== undefined,
            );
        }),
      ),
      runs('s3 lifecycle', RUNS),
    ),
  );
});

const SECRET = 'fuzz-secret';
const SCOPE_DATE = '20261201';
const owner = {
  accessKeyId: 'AKIDFUZZ',
  userName: 'fuzz',
  uid: 1000,
  gid: 1000,
  gids: [],
  secret: SECRET,
};
const SCOPE_CONDITIONS = [
  { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
  { 'x-amz-credential': `AKIDFUZZ/${SCOPE_DATE}/us-east-1/s3/aws4_request` },
  { 'x-amz-date': `${SCOPE_DATE}T000000Z` },
];
const conditionPiece = fc.constantFrom<unknown>(
  { bucket: 'b' },
  { bucket: 'other' },
  ['starts-with', '$key', 'up/'],
  ['starts-with', '$key', ''],
  ['eq', '$key', 'up/a'],
  ['eq', 'key', 'x'],
  ['content-length-range', 0, 10],
  ['content-length-range', 10, 0],
  ['content-length-range', 'a', 'b'],
  ['in', '$key', 'x'],
  { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
  { 'x-amz-credential': `AKIDFUZZ/${SCOPE_DATE}/us-east-1/s3/aws4_request` },
  { 'x-amz-date': `${SCOPE_DATE}T000000Z` },
  { a: 1 },
  {},
  null,
  'text',
  7,
);
const policyText = fc.oneof(
  fc
    .record({
      expiration: fc.constantFrom(
        '2099-01-01T00:00:00Z',
        '2099-01-01T00:00:00Z',
        '2000-01-01T00:00:00Z',
        'soon',
        5,
      ),
      // Mostly with the conditions every signed form needs, so the rest are what decides.
      scoped: fc.boolean(),
      conditions: fc.oneof(fc.array(conditionPiece, { maxLength: 4 }), fc.constant('x')),
    })
    .map(({ expiration, scoped, conditions }) =>
      JSON.stringify({
        expiration,
        conditions: scoped && Array.isArray(conditions) ? [...SCOPE_CONDITIONS, ...conditions] : conditions,
      }),
    ),
  fc.string({ maxLength: 40 }),
);
const formField = fc.tuple(
  fc.constantFrom(
    'key',
    'content-type',
    'x-amz-meta-a',
    'x-ignore-b',
    'acl',
    'success_action_status',
    'bucket',
  ),
  fc.constantFrom('up/a', 'b', '', 'x'),
);

test(`7 POST Object policies and forms: authenticated or S3's error (${RUNS} cases)`, async () => {
  let accepted = 0;
  await runFuzz('S3 POST policies', RUNS, () =>
    fc.assert(
      fc.asyncProperty(
        policyText,
        fc.array(formField, { maxLength: 3 }),
        fc.boolean(),
        fc.constantFrom('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1', ''),
        fc.constantFrom(
          `AKIDFUZZ/${SCOPE_DATE}/us-east-1/s3/aws4_request`,
          `AKIDFUZZ/${SCOPE_DATE}/us-east-1/s3/aws4_request`,
          `AKIDFUZZ/${SCOPE_DATE}/us-east-1/s3/aws4_request`,
          'AKIDFUZZ/x',
          `NOPE/${SCOPE_DATE}/us-east-1/s3/aws4_request`,
        ),
        async (policy, extra, signRight, algorithm, credential) => {
          const b64 = Buffer.from(policy).toString('base64');
          const key = signingKey(SECRET, SCOPE_DATE, 'us-east-1', 's3');
          const fields = new Map<string, string>([
            ['policy', b64],
            ['x-amz-algorithm', algorithm],
            ['x-amz-credential', credential],
            ['x-amz-date', `${SCOPE_DATE}T000000Z`],
            [
              'x-amz-signature',
              signRight ? createHmac('sha256', key).update(b64).digest('hex') : 'f'.repeat(64),
            ],
            ...extra,
          ]);
          try {
            const r = await authenticatePostPolicy(
              fields,
              'b',
              async (id) => (id === 'AKIDFUZZ' ? owner : null),
              {
                region: 'us-east-1',
                now: new Date(Date.UTC(2026, 11, 1)),
              },
            );
            ok(r.principal.uid === 1000 && signRight);
            accepted++;
          } catch (e) {
            if (!(e instanceof S3Error)) throw e;
            ok(e.status >= 400 && e.status < 500);
          }
        },
      ),
      runs('s3 post policies', RUNS),
    ),
  );
  // Some forms pass every check, so the conditions' evaluation is exercised too.
  ok(accepted > 0, 'no form was accepted');
});
