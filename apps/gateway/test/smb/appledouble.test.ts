import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseAppleDouble } from '../../src/protocols/smb/apple/appledouble.ts';
import { ROOT } from '../../src/storage/types.ts';
import { capturedLog } from '../support/log.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { type SmbGateway, s3ClientOf, smbclient, startSmbGateway } from './fixture.ts';

/**
 * An AppleDouble file as macOS writes `._name` (RFC 1740, version 2, "Mac OS X" filler): Finder
 * info entry (with Apple's packed attributes after it when there are any), then the resource
 * fork, each entry at the offset its descriptor gives.
 */
function appleDouble(o: {
  finder: Buffer;
  attributes?: Array<[string, Buffer]>;
  fork?: Buffer;
  filler?: string;
}): Buffer {
  const attrs = o.attributes ?? [];
  const finderAt = 26 + 2 * 12;
  let finder = o.finder;
  if (attrs.length > 0) {
    // 32 bytes of Finder info, 2 of padding, the 36-byte 'ATTR' header, entries, then values.
    const headerAt = finderAt + 32 + 2;
    const entries: Buffer[] = [];
    let p = headerAt + 36;
    for (const [name] of attrs) {
      p = (p + 3) & ~3;
      const e = Buffer.alloc(11 + Buffer.byteLength(name) + 1);
      entries.push(e);
      p += e.length;
    }
    const dataStart = p;
    let at = dataStart;
    const area = Buffer.alloc(dataStart - finderAt);
    o.finder.copy(area, 0);
    let q = headerAt + 36;
    attrs.forEach(([name, value], i) => {
      q = (q + 3) & ~3;
      const e = entries[i]!;
      e.writeUInt32BE(at, 0);
      e.writeUInt32BE(value.length, 4);
      e[10] = Buffer.byteLength(name) + 1;
      e.write(name, 11, 'utf8');
      e.copy(area, q - finderAt);
      q += e.length;
      at += value.length;
    });
    const total = at;
    const h = area.subarray(34);
    h.write('ATTR', 0, 'latin1');
    h.writeUInt32BE(total, 8);
    h.writeUInt32BE(dataStart, 12);
    h.writeUInt32BE(total - dataStart, 16);
    h.writeUInt16BE(attrs.length, 34);
    finder = Buffer.concat([area, ...attrs.map(([, v]) => v)]);
  }
  const fork = o.fork ?? Buffer.alloc(0);
  const head = Buffer.alloc(finderAt);
  head.writeUInt32BE(0x0005_1607, 0);
  head.writeUInt32BE(0x0002_0000, 4);
  head.write(o.filler ?? 'Mac OS X        ', 8, 'latin1');
  head.writeUInt16BE(2, 24);
  head.writeUInt32BE(9, 26);
  head.writeUInt32BE(finderAt, 30);
  head.writeUInt32BE(finder.length, 34);
  head.writeUInt32BE(2, 38);
  head.writeUInt32BE(finderAt + finder.length, 42);
  head.writeUInt32BE(fork.length, 46);
  return Buffer.concat([head, finder, fork]);
}

const finderInfo = (typeCreator: string) => {
  const f = Buffer.alloc(32);
  f.write(typeCreator, 0, 'latin1');
  f.writeUInt16BE(0x0100, 8); // Finder flags: kHasBeenInited
  return f;
};

describe('AppleDouble files, read as Samba reads them', () => {
  test('1 Finder info, packed attributes and the resource fork are found where the descriptors say', () => {
    const fork = randomBytes(300);
    const b = appleDouble({
      finder: finderInfo('TEXTttxt'),
      attributes: [
        ['com.apple.metadata:_kMDItemUserTags', Buffer.from('tags')],
        ['org.example.note', Buffer.from('a note')],
      ],
      fork,
    });
    const ad = parseAppleDouble(b, b.length)!;
    equal(ad.finderInfo?.toString('latin1', 0, 8), 'TEXTttxt');
    deepEqual(
      ad.attributes.map((a) => [a.name, a.value.toString()]),
      [
        ['com.apple.metadata:_kMDItemUserTags', 'tags'],
        ['org.example.note', 'a note'],
      ],
    );
    ok(b.subarray(ad.resourceFork!.offset, ad.resourceFork!.offset + ad.resourceFork!.length).equals(fork));
  });

  test('2 not AppleDouble, or damaged: nothing is read from it', () => {
    const good = appleDouble({ finder: finderInfo('TEXTttxt'), attributes: [['a', Buffer.from('b')]] });
    const bad = (mutate: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      mutate(b);
      return parseAppleDouble(b, b.length);
    };
    equal(parseAppleDouble(Buffer.from('plain text that is not AppleDouble'), 34), undefined);
    equal(
      bad((b) => b.writeUInt32BE(0x0001_0000, 4)),
      undefined,
      'version 1',
    );
    equal(
      bad((b) => b.writeUInt16BE(200, 24)),
      undefined,
      'more descriptors than bytes',
    );
    equal(
      bad((b) => b.writeUInt32BE(0xffff_fff0, 30)),
      undefined,
      'Finder info past the end',
    );
    equal(
      bad((b) => b.write('XXXX', 50 + 34, 'latin1')),
      undefined,
      'attributes without their magic',
    );
    equal(
      bad((b) => b.writeUInt32BE(0x7fff_ffff, 50 + 34 + 36)),
      undefined,
      'an attribute past the area',
    );
    equal(parseAppleDouble(good.subarray(0, 40), 40), undefined, 'cut short');
  });

  test('3 a resource fork longer than the file is cut to it; netatalk’s Finder info is not macOS’s', () => {
    const b = appleDouble({
      finder: finderInfo('APPLttxt'),
      fork: Buffer.alloc(100, 1),
      filler: 'Netatalk        ',
    });
    const cut = b.subarray(0, b.length - 40);
    const ad = parseAppleDouble(cut, cut.length)!;
    equal(ad.resourceFork?.length, 60);
    equal(ad.finderInfo, undefined);
  });
});

describe('AppleDouble `._` files become streams on a Mac share (smbclient)', () => {
  let g: SmbGateway;
  let work: string;
  const auth = 'ava%Apple-Dbl-1';
  const COLON = '\uf022';
  const log = capturedLog();
  before(async () => {
    g = await startSmbGateway({
      log: log.log,
      logLevel: 'info',
      protocols: ['smb', 's3'],
      shares: [
        '{ name: mac, path: /export/mac, apple_extensions: true }',
        '{ name: keep, path: /export/keep, apple_extensions: true, convert_appledouble: false }',
      ],
    });
    await g.user('ava', 'Apple-Dbl-1');
    work = makeTempDir('appledouble');
  });
  after(() => g?.stop());

  const run = (share: string, commands: string) => smbclient(g, auth, { share, cwd: work, commands });
  /** The `stream: [name], N bytes` lines of smbclient's allinfo. */
  const streamsOf = (allinfo: string) =>
    [...allinfo.matchAll(/^stream: \[(.*)\], (\d+) bytes$/gm)].map((m) => `${m[1]} ${m[2]}`);

  test(
    '1 opening the file’s resource fork converts `._report.txt`: Finder info, attributes and fork are the file’s streams, and the `._` file is gone',
    requireTools('smbclient'),
    async () => {
      const fork = randomBytes(1_500_000);
      writeFileSync(join(work, 'report.txt'), 'the report');
      writeFileSync(
        join(work, 'ad.bin'),
        appleDouble({
          finder: finderInfo('TEXTttxt'),
          attributes: [['com.apple.metadata:_kMDItemUserTags', Buffer.from('Red\n6')]],
          fork,
        }),
      );
      const put = await run('mac', 'put report.txt report.txt; put ad.bin ._report.txt');
      equal(put.code, 0, put.output);
      const get = await run('mac', 'get report.txt:AFP_Resource fork.back');
      equal(get.code, 0, get.output);
      ok(readFileSync(join(work, 'fork.back')).equals(fork), 'the resource fork, byte for byte');
      const info = await run('mac', 'allinfo report.txt');
      deepEqual(streamsOf(info.stdout), [
        '::$DATA 10',
        ':AFP_AfpInfo:$DATA 60',
        `:AFP_Resource:$DATA ${fork.length}`,
        `:com.apple.metadata${COLON}_kMDItemUserTags:$DATA 5`,
      ]);
      const afp = await run('mac', 'get report.txt:AFP_AfpInfo afp.back');
      equal(afp.code, 0, afp.output);
      const afpInfo = readFileSync(join(work, 'afp.back'));
      equal(afpInfo.toString('latin1', 0, 4), 'AFP\0');
      equal(afpInfo.toString('latin1', 16, 24), 'TEXTttxt');
      const ls = await run('mac', 'ls');
      equal(ls.code, 0, ls.output);
      match(ls.stdout, /report\.txt/);
      equal(/\._report\.txt/.test(ls.stdout), false, ls.stdout);
      // The file itself is untouched: S3 reads the same bytes.
      const s3 = await s3ClientOf(g, 'ava');
      const obj = await s3.send(new GetObjectCommand({ Bucket: 'mac', Key: 'report.txt' }));
      equal(await obj.Body!.transformToString(), 'the report');
      ok(
        log.logged(
          'SMB: AppleDouble file ._report.txt converted into the streams of report.txt on share mac',
        ),
        'the conversion is logged',
      );
    },
  );

  test('1b a folder’s `._` file gives the folder its Finder info', requireTools('smbclient'), async () => {
    const folderInfo = Buffer.alloc(32);
    folderInfo.writeUInt16BE(0x000e, 8); // Finder flags: label colour
    writeFileSync(join(work, 'ad-folder.bin'), appleDouble({ finder: folderInfo }));
    const put = await run('mac', 'mkdir Photos; put ad-folder.bin ._Photos');
    equal(put.code, 0, put.output);
    const get = await run('mac', 'get Photos:AFP_AfpInfo folder-afp.back; ls');
    equal(get.code, 0, get.output);
    const afpInfo = readFileSync(join(work, 'folder-afp.back'));
    equal(afpInfo.readUInt16BE(16 + 8), 0x000e);
    equal(/\._Photos/.test(get.stdout), false, get.stdout);
  });

  test(
    '2 a `._` file that is not AppleDouble, or on a share with convert_appledouble off, stays as it is',
    requireTools('smbclient'),
    async () => {
      const s3 = await s3ClientOf(g, 'ava');
      await s3.send(new PutObjectCommand({ Bucket: 'mac', Key: 'photo.jpg', Body: 'jpeg' }));
      await s3.send(
        new PutObjectCommand({ Bucket: 'mac', Key: '._photo.jpg', Body: 'not AppleDouble at all' }),
      );
      const info = await run('mac', 'allinfo photo.jpg; get photo.jpg:AFP_AfpInfo none.back');
      deepEqual(streamsOf(info.stdout), ['::$DATA 4']);
      const kept = await s3.send(new GetObjectCommand({ Bucket: 'mac', Key: '._photo.jpg' }));
      equal(await kept.Body!.transformToString(), 'not AppleDouble at all');

      writeFileSync(
        join(work, 'ad2.bin'),
        appleDouble({ finder: finderInfo('TEXTttxt'), fork: Buffer.from('fork') }),
      );
      writeFileSync(join(work, 'doc.txt'), 'doc');
      const put = await run('keep', 'put doc.txt doc.txt; put ad2.bin ._doc.txt');
      equal(put.code, 0, put.output);
      await run('keep', 'get doc.txt:AFP_Resource none.back; ls');
      const after = await run('keep', 'allinfo doc.txt; ls');
      deepEqual(streamsOf(after.stdout), ['::$DATA 3']);
      match(after.stdout, /\._doc\.txt/);
      const dir = await g.gw.ns.resolvePath(ROOT, '/export/keep');
      equal(
        (await g.gw.ns.lookup(ROOT, dir.ino, '._doc.txt')).size,
        BigInt(readFileSync(join(work, 'ad2.bin')).length),
      );
    },
  );
});
