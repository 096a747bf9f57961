import { ok } from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { route, type Target } from '../../src/protocols/s3/dispatch.ts';
import { S3Error } from '../../src/protocols/s3/errors.ts';
import { checkBucketName, keyPath, MAX_KEY_BYTES } from '../../src/protocols/s3/keys.ts';
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
