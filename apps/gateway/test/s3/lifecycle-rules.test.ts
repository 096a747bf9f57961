import { deepEqual, equal, throws } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { S3Error } from '../../src/protocols/s3/errors.ts';
import {
  abortsAt,
  DAY_MS,
  describeRule,
  expiresAt,
  type LifecycleRule,
  lifecycleXml,
  matchesObject,
  noncurrentExpiresAt,
  parseLifecycle,
} from '../../src/protocols/s3/lifecycle/rules.ts';

const doc = (rules: string) =>
  `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules}</LifecycleConfiguration>`;

const refused = (code: string, body: string, message?: RegExp) =>
  throws(
    () => parseLifecycle(doc(body)),
    (e: unknown) =>
      e instanceof S3Error && e.code === code && (message === undefined || message.test(e.message)),
  );

describe('lifecycle configurations', () => {
  test('1 every filter form reads back as it was written', () => {
    const rules = parseLifecycle(
      doc(
        '<Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>' +
          '<Rule><ID>tmp</ID><Filter><And><Prefix>tmp/</Prefix><Tag><Key>temp</Key><Value>yes</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Disabled</Status><Expiration><Date>2026-12-01T00:00:00.000Z</Date></Expiration></Rule>' +
          '<Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>' +
          '<Rule><ID>all</ID><Filter></Filter><Status>Enabled</Status><Expiration><Days>365</Days></Expiration></Rule>' +
          '<Rule><ID>tagged</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>',
      ),
    );
    deepEqual(
      rules.map((r) => [r.id, r.form, r.enabled, r.filter.prefix]),
      [
        ['logs', 'filter', true, 'logs/'],
        ['tmp', 'and', false, 'tmp/'],
        ['legacy', 'prefix', true, 'old/'],
        ['all', 'filter', true, ''],
        ['tagged', 'filter', true, ''],
      ],
    );
    equal(rules[1]!.expirationDate, Date.UTC(2026, 11, 1));
    deepEqual(rules[1]!.filter.tags, [{ key: 'temp', value: 'yes' }]);
    equal(rules[1]!.filter.sizeGreaterThan, 10);
    equal(rules[2]!.abortUploadsAfterDays, 7);
    // Written back and read again: the same rules.
    deepEqual(parseLifecycle(lifecycleXml(rules)), rules);
    equal(describeRule(rules[0]!), 'expire 30 days after last write — keys under "logs/"');
  });

  test('2 a rule without an ID gets one; Status must be Enabled or Disabled', () => {
    const [r] = parseLifecycle(
      doc('<Rule><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>'),
    );
    equal(typeof r!.id, 'string');
    equal(r!.id.length > 0, true);
    const [empty] = parseLifecycle(
      doc('<Rule><ID></ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>'),
    );
    equal(empty!.id.length > 0, true);
    // A date-time without a zone is GMT, as S3 reads it — not the host's local time.
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const [noZone] = parseLifecycle(
        doc('<Rule><Status>Enabled</Status><Expiration><Date>2026-12-01T00:00:00</Date></Expiration></Rule>'),
      );
      equal(noZone!.expirationDate, Date.UTC(2026, 11, 1));
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    refused('MalformedXML', '<Rule><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule>');
    refused('MalformedXML', '<Rule><Expiration><Days>1</Days></Expiration></Rule>');
  });

  test('3 what S3 refuses is refused with its error', () => {
    const exp = '<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>';
    refused('MalformedXML', '');
    refused(
      'InvalidArgument',
      '<Rule><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>',
      /Days/,
    );
    refused(
      'InvalidArgument',
      '<Rule><Status>Enabled</Status><Expiration><Days>-3</Days></Expiration></Rule>',
    );
    refused(
      'InvalidArgument',
      '<Rule><Status>Enabled</Status><Expiration><Date>2026-12-01T12:00:00Z</Date></Expiration></Rule>',
      /midnight GMT/,
    );
    refused(
      'InvalidArgument',
      '<Rule><Status>Enabled</Status><Expiration><Date>soon</Date></Expiration></Rule>',
    );
    refused(
      'MalformedXML',
      '<Rule><Status>Enabled</Status><Expiration><Days>1</Days><Date>2026-12-01T00:00:00Z</Date></Expiration></Rule>',
    );
    refused('InvalidArgument', `<Rule><ID>x</ID>${exp}</Rule><Rule><ID>x</ID>${exp}</Rule>`, /unique/);
    refused('InvalidArgument', `<Rule><ID>${'i'.repeat(256)}</ID>${exp}</Rule>`);
    refused('InvalidRequest', '<Rule><Status>Enabled</Status></Rule>', /at least one action/);
    refused('MalformedXML', `<Rule><Prefix>a</Prefix><Filter><Prefix>a</Prefix></Filter>${exp}</Rule>`);
    refused(
      'MalformedXML',
      `<Rule><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>${exp}</Rule>`,
    );
    refused(
      'InvalidArgument',
      `<Rule><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter>${exp}</Rule>`,
    );
    refused(
      'InvalidRequest',
      '<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>',
    );
    refused('InvalidTag', `<Rule><Filter><Tag><Key>aws:x</Key><Value>v</Value></Tag></Filter>${exp}</Rule>`);
    refused(
      'InvalidRequest',
      `<Rule>${exp}</Rule>`.repeat(1001).replaceAll('<Rule>', () => `<Rule><ID>${Math.random()}</ID>`),
    );
  });

  test('4 actions this gateway cannot carry out are NotImplemented, never stored', () => {
    refused(
      'NotImplemented',
      '<Rule><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>',
      /storage class/,
    );
    refused(
      'NotImplemented',
      '<Rule><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition></Rule>',
      /storage class/,
    );
  });

  test('4b versioned buckets: noncurrent version expiry and lone delete markers, checked as S3 checks them', () => {
    const rules = parseLifecycle(
      doc(
        '<Rule><ID>old</ID><Filter><Prefix>docs/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>' +
          '<Rule><ID>markers</ID><Filter></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>',
      ),
    );
    deepEqual(
      rules.map((r) => [r.noncurrentDays, r.newerNoncurrentVersions, r.expiredObjectDeleteMarker]),
      [
        [30, 3, undefined],
        [1, undefined, true],
      ],
    );
    deepEqual(parseLifecycle(lifecycleXml(rules)), rules);
    equal(
      describeRule(rules[0]!),
      'expire noncurrent versions 30 days after they were replaced (keeping the newest 3) — keys under "docs/"',
    );
    const marker = '<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>';
    refused('InvalidArgument', `<Rule><Status>Enabled</Status>${marker}<Days>1</Days></Expiration></Rule>`);
    refused(
      'InvalidArgument',
      `<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>${marker}</Expiration></Rule>`,
    );
    refused(
      'MalformedXML',
      '<Rule><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker></Expiration></Rule>',
    );
    refused(
      'MalformedXML',
      '<Rule><Status>Enabled</Status><NoncurrentVersionExpiration><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>',
    );
    refused(
      'InvalidArgument',
      '<Rule><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>',
    );
    refused(
      'InvalidArgument',
      '<Rule><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration></Rule>',
    );
  });
});

describe('when a rule applies', () => {
  const rule = (r: Partial<LifecycleRule>): LifecycleRule => ({
    id: 'r',
    enabled: true,
    form: 'filter',
    filter: { prefix: '', tags: [] },
    ...r,
  });

  test('5 Days count from the last write, rounded up to the next midnight UTC (as S3 does)', () => {
    const written = Date.UTC(2026, 0, 15, 10, 30);
    equal(expiresAt(rule({ expirationDays: 3 }), written), Date.UTC(2026, 0, 19));
    // Written at midnight exactly: N days later, at that midnight.
    equal(expiresAt(rule({ expirationDays: 1 }), Date.UTC(2026, 0, 15)), Date.UTC(2026, 0, 16));
    equal(expiresAt(rule({ expirationDate: Date.UTC(2026, 5, 1) }), written), Date.UTC(2026, 5, 1));
    equal(expiresAt(rule({ abortUploadsAfterDays: 1 }), written), undefined);
    equal(abortsAt(rule({ abortUploadsAfterDays: 2 }), written), Date.UTC(2026, 0, 18));
    equal(abortsAt(rule({ expirationDays: 2 }), written), undefined);
    // Noncurrent days count from when a newer version replaced it, beyond the newer ones kept.
    equal(noncurrentExpiresAt(rule({ noncurrentDays: 2 }), written, 0), Date.UTC(2026, 0, 18));
    equal(
      noncurrentExpiresAt(rule({ noncurrentDays: 2, newerNoncurrentVersions: 2 }), written, 1),
      undefined,
    );
    equal(
      noncurrentExpiresAt(rule({ noncurrentDays: 2, newerNoncurrentVersions: 2 }), written, 2),
      Date.UTC(2026, 0, 18),
    );
    equal(noncurrentExpiresAt(rule({ expirationDays: 2 }), written, 5), undefined);
    equal(DAY_MS, 24 * 3600 * 1000);
  });

  test('6 prefix, sizes and every tag of the filter must match', () => {
    const r = rule({
      filter: {
        prefix: 'tmp/',
        tags: [{ key: 'temp', value: 'yes' }],
        sizeGreaterThan: 10,
        sizeLessThan: 100,
      },
    });
    const tags = [
      { key: 'other', value: '1' },
      { key: 'temp', value: 'yes' },
    ];
    equal(matchesObject(r, 'tmp/a', 50, tags), true);
    equal(matchesObject(r, 'tmpa', 50, tags), false);
    equal(matchesObject(r, 'tmp/a', 10, tags), false);
    equal(matchesObject(r, 'tmp/a', 100, tags), false);
    equal(matchesObject(r, 'tmp/a', 50, [{ key: 'temp', value: 'no' }]), false);
    equal(matchesObject(r, 'tmp/a', 50, []), false);
    equal(matchesObject(rule({}), 'anything', 0, []), true);
  });
});
