import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, s3cmdRunner, s3Error, sdkClient, startS3Gateway } from './fixture.ts';
import { signed } from './raw.ts';

const AUTHENTICATED = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

interface CliGrant {
  Grantee: { ID?: string; URI?: string; Type: string };
  Permission: string;
}
/** A grant list as `who:PERMISSION` strings, in order. */
const grantsOf = (acl: { Grants: CliGrant[] }) =>
  acl.Grants.map((g) => `${g.Grantee.ID ?? g.Grantee.URI}:${g.Permission}`);

/**
 * S3 ACLs over the POSIX model: what GetBucketAcl and GetObjectAcl show is who may do what by
 * owner and mode, and PutObjectAcl / PutBucketAcl set the mode — checked by other users' keys,
 * anonymous requests, and the namespace itself. With the aws CLI, the SDK, s3cmd and raw XML.
 */
describe('S3 ACLs read from and written to the POSIX mode', () => {
  let g: S3Gateway;
  let owner: { accessKeyId: string; secret: string; uid: number };
  let aws: ReturnType<typeof awsCliRun>;
  let mine: S3Client;
  let theirs: S3Client;
  let work: string;
  const modeOf = async (path: string) =>
    ((await g.gw.ns.resolvePath(ROOT, `/export/${path}`)).mode & 0o7777).toString(8);
  const json = async (...args: string[]) => {
    const r = await aws(...args);
    equal(r.code, 0, r.output);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    g = await startS3Gateway({ publicRead: ['shared'] });
    owner = await g.user('ann');
    work = makeTempDir('s3-acl');
    aws = awsCliRun(g, owner, work);
    mine = sdkClient(g, owner);
    theirs = sdkClient(g, await g.user('ben'));
    for (const Bucket of ['reports', 'shared']) {
      await mine.send(new CreateBucketCommand({ Bucket }));
      await mine.send(new PutObjectCommand({ Bucket, Key: 'q3.txt', Body: 'quarter three' }));
    }
  });
  after(async () => {
    mine?.destroy();
    theirs?.destroy();
    await g?.stop();
  });

  const readByBen = (Bucket: string) =>
    theirs.send(new GetObjectCommand({ Bucket, Key: 'q3.txt' })).then(
      (r) => r.Body!.transformToString(),
      (e: Error) => e.name,
    );

  test('1 get-bucket-acl and get-object-acl (aws CLI): the owner, and every key holder reading by the mode', async () => {
    const bucket = await json('s3api', 'get-bucket-acl', '--bucket', 'reports');
    equal(bucket.Owner.ID, String(owner.uid));
    deepEqual(grantsOf(bucket), [`${owner.uid}:FULL_CONTROL`, `${AUTHENTICATED}:READ`]);
    const object = await json('s3api', 'get-object-acl', '--bucket', 'reports', '--key', 'q3.txt');
    deepEqual(grantsOf(object), [`${owner.uid}:FULL_CONTROL`, `${AUTHENTICATED}:READ`]);
    equal(await modeOf('reports/q3.txt'), '644');
    equal(await readByBen('reports'), 'quarter three', 'what the ACL says: another key reads it');
  });

  test('2 put-object-acl private: mode 0600, another key is refused; authenticated-read gives it back', async () => {
    const r = await aws(
      's3api',
      'put-object-acl',
      '--bucket',
      'reports',
      '--key',
      'q3.txt',
      '--acl',
      'private',
    );
    equal(r.code, 0, r.output);
    equal(await modeOf('reports/q3.txt'), '600');
    equal(await readByBen('reports'), 'AccessDenied');
    const acl = await mine.send(new GetObjectAclCommand({ Bucket: 'reports', Key: 'q3.txt' }));
    deepEqual(
      acl.Grants?.map((x) => `${x.Grantee?.ID ?? x.Grantee?.URI}:${x.Permission}`),
      [`${owner.uid}:FULL_CONTROL`],
    );

    await mine.send(new PutObjectAclCommand({ Bucket: 'reports', Key: 'q3.txt', ACL: 'authenticated-read' }));
    equal(await modeOf('reports/q3.txt'), '644');
    equal(await readByBen('reports'), 'quarter three');
  });

  test('3 a bucket made private: other keys can no longer list or read in it', async () => {
    const r = await aws('s3api', 'put-bucket-acl', '--bucket', 'reports', '--acl', 'private');
    equal(r.code, 0, r.output);
    equal(await modeOf('reports'), '700');
    equal(await readByBen('reports'), 'AccessDenied');
    const back = await aws('s3api', 'put-bucket-acl', '--bucket', 'reports', '--acl', 'authenticated-read');
    equal(back.code, 0, back.output);
    equal(await modeOf('reports'), '755');
    equal(await readByBen('reports'), 'quarter three');
  });

  test('4 what a mode cannot hold is AccessControlListNotSupported (400), naming where it lives; bad ACLs are refused; nothing changes', async () => {
    const refusals: Array<[string, () => Promise<unknown>, string, RegExp]> = [
      [
        'public-read outside a public bucket',
        () => mine.send(new PutObjectAclCommand({ Bucket: 'reports', Key: 'q3.txt', ACL: 'public-read' })),
        'AccessControlListNotSupported',
        /s3\.public_read_buckets or a bucket policy/,
      ],
      [
        'a grant to another user',
        () =>
          mine.send(new PutObjectAclCommand({ Bucket: 'reports', Key: 'q3.txt', GrantRead: 'id="1234"' })),
        'AccessControlListNotSupported',
        /x-amz-grant-read/,
      ],
      [
        'not the owner',
        () => theirs.send(new PutObjectAclCommand({ Bucket: 'reports', Key: 'q3.txt', ACL: 'private' })),
        'AccessDenied',
        /./,
      ],
    ];
    for (const [what, p, code, why] of refusals) {
      const e = await s3Error(p());
      equal(e.name, code, what);
      match(e.message, why, what);
    }
    const body = (grants: string, ownerId = String(owner.uid)) =>
      `<AccessControlPolicy><Owner><ID>${ownerId}</ID></Owner><AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`;
    const full = `<Grant><Grantee xsi:type="CanonicalUser" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><ID>${owner.uid}</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>`;
    const put = (text: string, headers: Record<string, string> = {}) =>
      signed(g, owner, { method: 'PUT', path: '/reports/q3.txt', query: { acl: '' }, body: text, headers });
    const cases: Array<[string, string, Record<string, string>, number, string]> = [
      ['not XML', '<AccessControlPolicy><Owner>', {}, 400, 'MalformedACLError'],
      ['no body, no header', '', {}, 400, 'MalformedACLError'],
      ['header and body', body(full), { 'x-amz-acl': 'private' }, 400, 'InvalidRequest'],
      ['an unknown canned ACL', '', { 'x-amz-acl': 'everyone-please' }, 400, 'InvalidArgument'],
      ['the owner given away', body(full, '4242'), {}, 403, 'AccessDenied'],
      [
        'WRITE for every key holder on an object',
        body(
          `${full}<Grant><Grantee><URI>${AUTHENTICATED}</URI></Grantee><Permission>WRITE</Permission></Grant>`,
        ),
        {},
        400,
        'AccessControlListNotSupported',
      ],
      ['without the owner', body(''), {}, 400, 'AccessControlListNotSupported'],
    ];
    for (const [what, text, headers, status, code] of cases) {
      const r = await put(text, headers);
      equal(r.status, status, `${what}: ${r.body}`);
      match(r.body, new RegExp(`<Code>${code}</Code>`), what);
    }
    equal(await modeOf('reports/q3.txt'), '644', 'no refusal changed the mode');
    // The same document with AuthenticatedUsers READ is what it has: accepted, unchanged.
    const same = await put(
      body(
        `${full}<Grant><Grantee><URI>${AUTHENTICATED}</URI></Grantee><Permission>READ</Permission></Grant>`,
      ),
    );
    equal(same.status, 200, same.body);
    equal(await modeOf('reports/q3.txt'), '644');
  });

  test('5 a public bucket: AllUsers READ where anyone reads; private takes an object from anonymous callers too', async () => {
    const acl = await json('s3api', 'get-object-acl', '--bucket', 'shared', '--key', 'q3.txt');
    deepEqual(grantsOf(acl), [`${owner.uid}:FULL_CONTROL`, `${AUTHENTICATED}:READ`, `${ALL_USERS}:READ`]);
    equal((await fetch(`${g.endpoint}/shared/q3.txt`)).status, 200);
    const keyHoldersOnly = await s3Error(
      mine.send(new PutObjectAclCommand({ Bucket: 'shared', Key: 'q3.txt', ACL: 'authenticated-read' })),
    );
    equal(keyHoldersOnly.name, 'AccessControlListNotSupported');
    match(keyHoldersOnly.message, /without AllUsers in a bucket of s3\.public_read_buckets/);
    await mine.send(new PutObjectAclCommand({ Bucket: 'shared', Key: 'q3.txt', ACL: 'private' }));
    equal((await fetch(`${g.endpoint}/shared/q3.txt`)).status, 403);
    await mine.send(new PutObjectAclCommand({ Bucket: 'shared', Key: 'q3.txt', ACL: 'public-read' }));
    equal((await fetch(`${g.endpoint}/shared/q3.txt`)).status, 200);
    equal(await modeOf('shared/q3.txt'), '644');
  });

  test(
    "6 s3cmd: info shows the ACL; setacl --acl-private on a public bucket's object",
    requireTools('s3cmd'),
    async () => {
      const s3cmd = s3cmdRunner(g, owner, work);
      const info = await s3cmd('info', 's3://shared/q3.txt');
      equal(info.code, 0, info.output);
      match(info.stdout, new RegExp(`ACL: +${owner.uid}: FULL_CONTROL`));
      match(info.stdout, /ACL: +\*anon\*: READ/);
      match(info.stdout, /ACL: +http:\/\/acs\.amazonaws\.com\/groups\/global\/AuthenticatedUsers: READ/);
      const set = await s3cmd('setacl', '--acl-private', 's3://shared/q3.txt');
      // s3cmd takes the AllUsers grant away and keeps the key holders': not a mode in a public bucket.
      equal(set.code === 0, false, set.output);
      match(set.output, /AccessControlListNotSupported/);
      equal(await modeOf('shared/q3.txt'), '644');
    },
  );

  test('7 an ACL given with the write: PutObject, CopyObject, a multipart upload (aws s3 cp), CreateBucket; public-read refused outside a public bucket', async () => {
    await mine.send(
      new PutObjectCommand({ Bucket: 'reports', Key: 'secret.txt', Body: 'psst', ACL: 'private' }),
    );
    equal(await modeOf('reports/secret.txt'), '600');
    equal(
      await theirs.send(new GetObjectCommand({ Bucket: 'reports', Key: 'secret.txt' })).then(
        () => 'read',
        (e: Error) => e.name,
      ),
      'AccessDenied',
    );
    await mine.send(
      new CopyObjectCommand({
        Bucket: 'reports',
        Key: 'copy.txt',
        CopySource: 'reports/q3.txt',
        ACL: 'private',
      }),
    );
    equal(await modeOf('reports/copy.txt'), '600', 'a copy takes the ACL asked for, not its source mode');
    const big = join(work, 'big.bin');
    writeFileSync(big, Buffer.alloc(9 * 1024 * 1024, 7));
    const cp = await aws('s3', 'cp', big, 's3://reports/big.bin', '--acl', 'private');
    equal(cp.code, 0, cp.output);
    equal(await modeOf('reports/big.bin'), '600', 'a multipart upload keeps the ACL of its start');
    await mine.send(new CreateBucketCommand({ Bucket: 'vault', ACL: 'private' }));
    equal(await modeOf('vault'), '700');
    const refused = await s3Error(
      mine.send(new PutObjectCommand({ Bucket: 'reports', Key: 'open.txt', Body: 'x', ACL: 'public-read' })),
    );
    equal(refused.name, 'AccessControlListNotSupported');
    await g.gw.ns.resolvePath(ROOT, '/export/reports/open.txt').then(
      () => ok(false, 'open.txt was written'),
      (e: { code?: string }) => equal(e.code, 'ENOENT'),
    );
  });

  test(
    '8 s3cmd put --acl-public into a public bucket: accepted, anyone reads it',
    requireTools('s3cmd'),
    async () => {
      const s3cmd = s3cmdRunner(g, owner, work);
      const file = join(work, 'poster.txt');
      writeFileSync(file, 'come along');
      const put = await s3cmd('put', '--acl-public', file, 's3://shared/poster.txt');
      equal(put.code, 0, put.output);
      const anon = await fetch(`${g.endpoint}/shared/poster.txt`);
      equal(anon.status, 200);
      equal(await anon.text(), 'come along');
    },
  );
});
