/** The S3 error table, the namespace → S3 mapping, and the error document. */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import {
  errorXml,
  FS_TO_S3,
  fromFsError,
  S3_ERRORS,
  S3Error,
  type S3ErrorCode,
} from '../../src/protocols/s3/errors.ts';
import { FS_ERROR_CODES, fsError } from '../../src/storage/errors.ts';

describe('fromFsError: namespace code → S3 code and status', () => {
  const rows: Array<[string, S3ErrorCode, number]> = [
    ['ENOENT', 'NoSuchKey', 404],
    ['ESTALE', 'NoSuchKey', 404],
    ['EACCES', 'AccessDenied', 403],
    ['EPERM', 'AccessDenied', 403],
    ['EROFS', 'ServiceUnavailable', 503],
    ['EDQUOT', 'QuotaExceeded', 403],
    ['ENOSPC', 'InsufficientStorage', 507],
    ['EAGAIN', 'ServiceUnavailable', 503],
    ['ENAMETOOLONG', 'KeyTooLongError', 400],
    ['EINVAL', 'InvalidArgument', 400],
    ['EEXIST', 'ObjectPathConflict', 409],
    ['ENOTDIR', 'ObjectPathConflict', 409],
    ['EISDIR', 'ObjectPathConflict', 409],
    ['ENOTEMPTY', 'BucketNotEmpty', 409],
    ['EFBIG', 'EntityTooLarge', 400],
    ['EIO', 'InternalError', 500],
    ['EBADF', 'InternalError', 500],
    ['EXDEV', 'NotImplemented', 501],
    ['ENOTSUP', 'NotImplemented', 501],
    ['EMLINK', 'InvalidRequest', 400],
    ['ELOOP', 'InvalidArgument', 400],
    ['ENOTSYNC', 'PreconditionFailed', 412],
    ['EWHATEVER', 'InternalError', 500],
  ];
  rows.forEach(([fsCode, code, status], i) => {
    test(`${i + 1} ${fsCode} → ${code} ${status}`, () => {
      const e = fromFsError({ code: fsCode, message: `${fsCode}: /secret/server/path` });
      ok(e instanceof S3Error);
      equal(e.code, code);
      equal(e.status, status);
      ok(!e.message.includes('/secret/server/path'), 'the namespace message is not shown to clients');
      deepEqual((e.cause as { code: string }).code, fsCode);
    });
  });

  test(`${rows.length + 1} every code the namespace throws has a row`, () => {
    for (const code of FS_ERROR_CODES) ok(Object.hasOwn(FS_TO_S3, code), code);
    ok(rows.length - 1 >= FS_ERROR_CODES.length);
  });
  test(`${rows.length + 2} an FsError instance maps; an S3Error passes through; anything else is InternalError`, () => {
    equal(fromFsError(fsError('ENOENT', 'gone', 'k')).code, 'NoSuchKey');
    const s3 = new S3Error('NoSuchBucket');
    equal(fromFsError(s3), s3);
    equal(fromFsError(new Error('boom')).code, 'InternalError');
    equal(fromFsError(null).code, 'InternalError');
    equal(fromFsError({ code: 42 }).code, 'InternalError');
    equal(fromFsError({ code: 'toString', message: '' }).code, 'InternalError');
  });
});

describe('S3_ERRORS', () => {
  test('1 every row has an HTTP error status and a message', () => {
    for (const [code, row] of Object.entries(S3_ERRORS)) {
      ok(row.status >= 300 && row.status <= 599, code);
      ok(row.message.length > 0, code);
    }
  });
  test('2 the rows the brief fixes', () => {
    deepEqual(S3_ERRORS.ObjectPathConflict, {
      status: 409,
      message: "an object and a 'directory' prefix cannot share a name on this file-system-backed store",
    });
    equal(S3_ERRORS.QuotaExceeded.status, 403);
    equal(S3_ERRORS.ServiceUnavailable.status, 503);
    equal(S3_ERRORS.SignatureDoesNotMatch.status, 403);
    equal(S3_ERRORS.MissingContentLength.status, 411);
  });
  test('3 S3Error: default message from the table, status getter, extra', () => {
    const e = new S3Error('NoSuchKey', undefined, { Key: 'a/b' });
    equal(e.message, 'The specified key does not exist.');
    equal(e.status, 404);
    equal(e.name, 'S3Error');
    deepEqual(e.extra, { Key: 'a/b' });
  });
});

describe('errorXml', () => {
  test('1 Code, Message, Resource, RequestId, then the extra elements; markup escaped', () => {
    const e = new S3Error('NoSuchKey', 'No <such> "key" & more', { Key: "a<b>&'c", Region: 'us-east-1' });
    const xml = errorXml(e, '/bucket/a<b>&c', 'req&1');
    ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>'));
    const doc = new XMLParser({ parseTagValue: false }).parse(xml) as { Error: Record<string, string> };
    deepEqual(doc.Error, {
      Code: 'NoSuchKey',
      Message: 'No <such> "key" & more',
      Resource: '/bucket/a<b>&c',
      RequestId: 'req&1',
      Key: "a<b>&'c",
      Region: 'us-east-1',
    });
    ok(xml.indexOf('<RequestId>') < xml.indexOf('<Key>'));
  });
  test('2 extra keys that are not element names are left out; characters XML cannot carry are dropped', () => {
    const e = new S3Error('InvalidArgument', 'bad\u0000\u0008value\uFFFE', {
      'not a name': 'x',
      '1x': 'y',
      Ok: 'z\u0001',
    });
    const xml = errorXml(e, '/', 'r');
    ok(!xml.includes('not a name') && !xml.includes('<1x>'));
    ok(xml.includes('<Message>badvalue</Message>'));
    ok(xml.includes('<Ok>z</Ok>'));
  });
});
