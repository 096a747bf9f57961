import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate } from '../../src/protocols/s3/conditions.ts';
import { route } from '../../src/protocols/s3/dispatch.ts';
import { S3Error } from '../../src/protocols/s3/errors.ts';
import { compareKeys, isValidBucketName, keyPath } from '../../src/protocols/s3/keys.ts';
import { parseRange } from '../../src/protocols/s3/range.ts';
import { parseTarget } from '../../src/protocols/s3/request.ts';
import { parseCompleteRequest, parseDeleteRequest } from '../../src/protocols/s3/xml.ts';

const code = (code: string) => (e: unknown) => e instanceof S3Error && e.code === code;

describe('S3 keys and bucket names', () => {
  const keys: Array<[number, string, string | { dirs: string[]; name: string; marker: boolean }]> = [
    [1, 'a/b/c', { dirs: ['a', 'b'], name: 'c', marker: false }],
    [2, 'a/b/', { dirs: ['a'], name: 'b', marker: true }],
    [3, 'x', { dirs: [], name: 'x', marker: false }],
    [4, 'a//b', 'InvalidArgument'],
    [5, '/a', 'InvalidArgument'],
    [6, 'a/./b', 'InvalidArgument'],
    [7, '../x', 'InvalidArgument'],
    [8, 'a\0b', 'InvalidArgument'],
    [9, 'k'.repeat(1025), 'KeyTooLongError'],
    [10, `${'d/'.repeat(200)}${'é'.repeat(313)}`, 'KeyTooLongError'],
    [11, 'a//', 'InvalidArgument'],
    [12, '/', 'InvalidArgument'],
    // Segments at and past 255 bytes of UTF-8 from fewer characters: 85 three-byte characters
    // fit, 86 do not; 64 four-byte emoji (128 UTF-16 units) are 256 bytes.
    [12.1, `d/${'€'.repeat(85)}`, { dirs: ['d'], name: '€'.repeat(85), marker: false }],
    [12.2, `d/${'€'.repeat(86)}`, 'KeyTooLongError'],
    [12.3, `${'😀'.repeat(64)}/x`, 'KeyTooLongError'],
    [12.4, `${'😀'.repeat(63)}a/x`, { dirs: [`${'😀'.repeat(63)}a`], name: 'x', marker: false }],
    // A whole key past 1,024 bytes in 342 three-byte characters (a fresh segment every 80).
    [
      12.5,
      Array.from({ length: 5 }, () => '€'.repeat(80))
        .join('/')
        .slice(0, 342 + 4),
      'KeyTooLongError',
    ],
  ];
  for (const [row, key, want] of keys) {
    test(`${row} key ${JSON.stringify(key.slice(0, 20))}`, () => {
      if (typeof want === 'string') throws(() => keyPath(key), code(want));
      else deepEqual(keyPath(key), want);
    });
  }

  test('13 bucket naming rules', () => {
    // Twice each: a name found valid is remembered, and an invalid one never is.
    for (let round = 0; round < 2; round++)
      for (const good of ['abc', 'my-bucket.01', 'a'.repeat(63), '1bucket'])
        ok(isValidBucketName(good), good);
    for (const bad of [
      'ab',
      'a'.repeat(64),
      'Upper',
      'a..b',
      '-abc',
      'abc-',
      '192.168.1.1',
      'xn--abc',
      'a_b',
      'b-s3alias',
      '.cfs-uploads',
      'a.-b',
    ]) {
      ok(!isValidBucketName(bad), bad);
      ok(!isValidBucketName(bad), `${bad}, asked again`);
    }
  });

  test('14 keys sort in UTF-8 byte order, directories as name/', () => {
    const keysInOrder = ['a-b', 'a/x', 'a0', 'b', '\u{e000}', '\u{10000}'];
    deepEqual([...keysInOrder].reverse().sort(compareKeys), keysInOrder);
  });
});

describe('S3 request targets and routing', () => {
  test('1 path style: bucket, key (decoded), query', () => {
    const t = parseTarget('/bkt/a%20b/c?uploads&x-id=CreateMultipartUpload', '127.0.0.1:9000', undefined);
    equal(t.bucket, 'bkt');
    equal(t.key, 'a b/c');
    deepEqual([...t.query.keys()], ['uploads', 'x-id']);
    equal(parseTarget('/bkt/', undefined, undefined).key, undefined);
    equal(parseTarget('/', undefined, undefined).bucket, undefined);
  });

  test('2 virtual-hosted style needs s3.domain', () => {
    const t = parseTarget('/k/x', 'bkt.s3.example.com:9000', 's3.example.com');
    deepEqual([t.bucket, t.key, t.style], ['bkt', 'k/x', 'virtual']);
    equal(parseTarget('/bkt/k', 's3.example.com', 's3.example.com').bucket, 'bkt');
    equal(parseTarget('/bkt/k', 'bkt.s3.example.com', undefined).bucket, 'bkt');
  });

  test('3 bad percent-encoding is InvalidURI', () => {
    throws(() => parseTarget('/bkt/%zz', undefined, undefined), code('InvalidURI'));
  });

  const routes: Array<
    [number, string, 'service' | 'bucket' | 'object', string, Record<string, string>, string]
  > = [
    [4, 'GET', 'service', '', {}, 'ListBuckets'],
    [5, 'GET', 'bucket', 'list-type=2&prefix=a', {}, 'ListObjectsV2'],
    [6, 'GET', 'bucket', 'prefix=a&marker=b', {}, 'ListObjects'],
    [7, 'GET', 'bucket', 'location', {}, 'GetBucketLocation'],
    [8, 'POST', 'bucket', 'delete', {}, 'DeleteObjects'],
    [9, 'PUT', 'object', 'partNumber=1&uploadId=x', {}, 'UploadPart'],
    [10, 'PUT', 'object', 'partNumber=1&uploadId=x', { 'x-amz-copy-source': '/b/k' }, 'UploadPartCopy'],
    [11, 'PUT', 'object', '', { 'x-amz-copy-source': '/b/k' }, 'CopyObject'],
    [12, 'POST', 'object', 'uploads', {}, 'CreateMultipartUpload'],
    [13, 'DELETE', 'object', 'uploadId=x', {}, 'AbortMultipartUpload'],
    [14, 'GET', 'object', 'acl', {}, 'GetObjectAcl'],
    [35, 'GET', 'object', 'torrent', {}, 'NotImplemented'],
    [36, 'PUT', 'bucket', 'acl', {}, 'PutBucketAcl'],
    [15, 'PUT', 'bucket', 'versioning', {}, 'PutBucketVersioning'],
    [28, 'PUT', 'bucket', 'policy', {}, 'PutBucketPolicy'],
    [16, 'GET', 'object', 'bogus=1', {}, 'GetObject'],
    [41, 'GET', 'service', 'max-buckets=1&prefix=bk&bucket-region=x&_=1', {}, 'ListBuckets'],
    [42, 'GET', 'bucket', 'list-type=2&allow-unordered=true', {}, 'ListObjectsV2'],
    [43, 'GET', 'object', 'AWSAccessKeyId=a&Signature=s&Expires=1', {}, 'GetObject'],
    [44, 'PUT', 'object', 'versionId=3', {}, 'NotImplemented'],
    [17, 'PATCH', 'object', '', {}, 'MethodNotAllowed'],
    [18, 'GET', 'bucket', 'list-type=3', {}, 'InvalidArgument'],
    [19, 'GET', 'object', 'partNumber=2', {}, 'GetObject'],
    [20, 'GET', 'object', 'X-Amz-Signature=abc&response-content-type=text/plain', {}, 'GetObject'],
    [21, 'GET', 'bucket', 'versioning', {}, 'GetBucketVersioning'],
    [22, 'GET', 'bucket', 'versions&key-marker=a&version-id-marker=null', {}, 'ListObjectVersions'],
    [23, 'GET', 'object', 'tagging', {}, 'GetObjectTagging'],
    [24, 'PUT', 'object', 'tagging', {}, 'PutObjectTagging'],
    [26, 'DELETE', 'bucket', 'tagging', {}, 'DeleteBucketTagging'],
    [27, 'PUT', 'object', 'legal-hold&versionId=x', {}, 'PutObjectLegalHold'],
    [29, 'GET', 'bucket', 'object-lock', {}, 'GetObjectLockConfiguration'],
    [30, 'PUT', 'object', 'retention', {}, 'PutObjectRetention'],
    [31, 'DELETE', 'object', 'retention', {}, 'NotImplemented'],
    [32, 'PUT', 'bucket', 'cors', {}, 'PutBucketCors'],
    [33, 'DELETE', 'bucket', 'cors', {}, 'DeleteBucketCors'],
    [34, 'PUT', 'object', 'cors', {}, 'NotImplemented'],
    [37, 'PUT', 'bucket', 'publicAccessBlock', {}, 'PutPublicAccessBlock'],
    [38, 'DELETE', 'bucket', 'publicAccessBlock', {}, 'DeletePublicAccessBlock'],
    [39, 'PUT', 'object', 'acl&versionId=3', {}, 'PutObjectAcl'],
    [40, 'GET', 'object', 'attributes&versionId=x', {}, 'GetObjectAttributes'],
    [25, 'GET', 'bucket', 'policy&versioning', {}, 'NotImplemented'],
    [45, 'PUT', 'bucket', 'replication&_=1', {}, 'NotImplemented'],
    [46, 'GET', 'object', 'select&select-type=2', {}, 'NotImplemented'],
  ];
  for (const [row, method, target, q, headers, want] of routes) {
    test(`${row} ${method} ${target}?${q} → ${want}`, () => {
      const query = parseTarget(`/b?${q}`, undefined, undefined).query;
      try {
        equal(route(method, target, query, headers).op, want);
      } catch (e) {
        ok(e instanceof S3Error, String(e));
        equal(e.code, want);
      }
    });
  }
});

describe('S3 ranges, conditions and request documents', () => {
  test('1 ranges: closed, open, suffix, unsatisfiable, ignored', () => {
    deepEqual(parseRange('bytes=0-9', 100n), { start: 0n, end: 9n });
    deepEqual(parseRange('bytes=90-', 100n), { start: 90n, end: 99n });
    deepEqual(parseRange('bytes=-10', 100n), { start: 90n, end: 99n });
    deepEqual(parseRange('bytes=50-500', 100n), { start: 50n, end: 99n });
    deepEqual(parseRange('bytes=-500', 100n), { start: 0n, end: 99n });
    throws(() => parseRange('bytes=100-', 100n), code('InvalidRange'));
    throws(() => parseRange('bytes=-0', 100n), code('InvalidRange'));
    equal(parseRange('bytes=0-1,5-6', 100n), undefined);
    equal(parseRange('items=0-1', 100n), undefined);
  });

  test('2 conditions follow RFC 9110 precedence', () => {
    const v = { etag: 'abc', mtimeNs: 1_700_000_000_000_000_000n };
    const before = new Date(1_600_000_000_000).toUTCString();
    const after = new Date(1_800_000_000_000).toUTCString();
    equal(evaluate(v, { ifMatch: '"abc"' }), 'proceed');
    equal(evaluate(v, { ifMatch: '"xyz"' }), 'failed');
    equal(evaluate(v, { ifNoneMatch: '"abc"' }), 'not-modified');
    equal(evaluate(v, { ifNoneMatch: '*' }), 'not-modified');
    equal(evaluate(v, { ifModifiedSince: after }), 'not-modified');
    equal(evaluate(v, { ifModifiedSince: before }), 'proceed');
    equal(evaluate(v, { ifUnmodifiedSince: before }), 'failed');
    equal(evaluate(v, { ifMatch: '"abc"', ifUnmodifiedSince: before }), 'proceed');
    equal(evaluate(v, { ifNoneMatch: '"zzz"', ifModifiedSince: after }), 'proceed');
  });

  test('3 DeleteObjects and CompleteMultipartUpload documents', () => {
    const d = parseDeleteRequest(
      '<Delete><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key><VersionId>null</VersionId></Object></Delete>',
    );
    deepEqual(d, { quiet: true, objects: [{ key: 'a&b' }, { key: 'c', versionId: 'null' }] });
    deepEqual(
      parseDeleteRequest('<Delete><Object><Key>k</Key><ETag>"e1"</ETag><Size>3</Size></Object></Delete>')
        .objects,
      [{ key: 'k', condition: { etag: '"e1"', size: '3', lastModified: undefined } }],
      'a conditional delete, as sent',
    );
    deepEqual(
      parseCompleteRequest(
        '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"ab"</ETag></Part></CompleteMultipartUpload>',
      ),
      [{ partNumber: 1, etag: 'ab' }],
    );
    for (const bad of [
      '',
      '<Delete>',
      '<Delete></Delete>',
      '<Other/>',
      '<!DOCTYPE x [<!ENTITY a "b">]><Delete><Object><Key>&a;</Key></Object></Delete>',
      '<Delete><Quiet>maybe</Quiet><Object><Key>k</Key></Object></Delete>',
    ])
      throws(() => parseDeleteRequest(bad), code('MalformedXML'), bad);
    for (const bad of [
      '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>',
      '<CompleteMultipartUpload/>',
    ])
      throws(() => parseCompleteRequest(bad), code('MalformedXML'), bad);
  });
});
