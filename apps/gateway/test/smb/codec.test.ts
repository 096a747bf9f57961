import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CMD, FLAGS } from '../../src/protocols/smb/constants.ts';
import { decodeCreateContexts, encodeCreateContexts } from '../../src/protocols/smb/create-contexts.ts';
import { CreditWindow } from '../../src/protocols/smb/credits.ts';
import { NdrReader, NdrWriter } from '../../src/protocols/smb/dcerpc/ndr.ts';
import { srvsvc } from '../../src/protocols/smb/dcerpc/srvsvc.ts';
import { SmbError } from '../../src/protocols/smb/errors.ts';
import { FramePool, FrameReader, frameHeader } from '../../src/protocols/smb/framing.ts';
import { decodeHeader, encodeHeader, splitChain } from '../../src/protocols/smb/header.ts';
import { decodeEaList, encodeEaList } from '../../src/protocols/smb/info/ea.ts';
import { chooseContexts } from '../../src/protocols/smb/negotiate-contexts.ts';
import { parseSmbName } from '../../src/protocols/smb/paths.ts';
import { listedName, mayBeShortName, shortName } from '../../src/protocols/smb/short-names.ts';
import { gidSid, readSid, sidBytes, sidString, uidSid } from '../../src/protocols/smb/sids.ts';
import { NT_STATUS, ntStatusName } from '../../src/protocols/smb/status/index.ts';
import { DEFAULT_STATUS, FS_STATUS, statusOf } from '../../src/protocols/smb/status-map.ts';
import { compilePattern } from '../../src/protocols/smb/wildcard.ts';
import { WireError } from '../../src/protocols/smb/wire/reader.ts';
import { FS_ERROR_CODES, fsError } from '../../src/storage/errors.ts';

describe('SMB2 codec pieces', () => {
  test('1 header encode/decode round trip (sync and async forms)', () => {
    const h = encodeHeader({
      creditCharge: 2,
      status: NT_STATUS.STATUS_PENDING,
      command: CMD.READ,
      credits: 31,
      flags: FLAGS.RELATED_OPERATIONS,
      messageId: 77n,
      processId: 0xfeff,
      treeId: 5,
      asyncId: 9n,
      sessionId: 0x1234n,
    });
    // A response header: re-read it with the request decoder after clearing SERVER_TO_REDIR.
    const d = decodeHeader(h);
    equal(d.command, CMD.READ);
    equal(d.messageId, 77n);
    equal(d.asyncId, 9n);
    equal(d.sessionId, 0x1234n);
    ok(
      d.flags & FLAGS.ASYNC_COMMAND && d.flags & FLAGS.SERVER_TO_REDIR && d.flags & FLAGS.RELATED_OPERATIONS,
    );
    throws(() => decodeHeader(h.subarray(0, 63)), WireError);
    const bad = Buffer.from(h);
    bad.writeUInt16LE(65, 4);
    throws(() => decodeHeader(bad), /StructureSize/);
  });

  test('2 compound chains split on NextCommand; misaligned or out-of-range offsets are framing errors', () => {
    const m = (next: number, len: number) => {
      const b = Buffer.alloc(len);
      b.writeUInt32LE(0x424d53fe, 0);
      b.writeUInt16LE(64, 4);
      b.writeUInt32LE(next, 20);
      return b;
    };
    equal(splitChain(Buffer.concat([m(72, 72), m(0, 70)])).length, 2);
    throws(() => splitChain(Buffer.concat([m(70, 72), m(0, 70)])), /NextCommand/);
    throws(() => splitChain(Buffer.concat([m(200, 72), m(0, 70)])), /NextCommand/);
    throws(() => splitChain(m(0, 40)), WireError);
  });

  test('3 transport frames: reassembled across chunks, keep-alives skipped, oversize refused before buffering', () => {
    const r = new FrameReader(100);
    const payload = Buffer.alloc(50, 7);
    const wire = Buffer.concat([Buffer.from([0x85, 0, 0, 0]), frameHeader(50), payload]);
    deepEqual(r.push(wire.subarray(0, 7)), []);
    const frames = r.push(wire.subarray(7));
    equal(frames.length, 1);
    ok(frames[0]!.equals(payload));
    throws(() => new FrameReader(100).push(frameHeader(101)), /exceeds/);
    throws(() => new FrameReader(100).push(Buffer.from([0x81, 0, 0, 4])), /message type/);
  });

  test('3b frames arrive through one reused read buffer: each frame and each kept byte is a copy, large ones fill as they come', () => {
    const pool = new FramePool(4 << 20, 2, 1 << 20);
    const r = new FrameReader(4 << 20, pool);
    const small = [Buffer.alloc(30, 1), Buffer.alloc(70, 2), Buffer.alloc(5, 3)];
    const large = Buffer.alloc(3 << 20);
    for (let i = 0; i < large.length; i += 4) large.writeUInt32LE(i, i);
    const wire = Buffer.concat([
      ...small.flatMap((p) => [frameHeader(p.length), p]),
      frameHeader(large.length),
      large,
      frameHeader(small[0]!.length),
      small[0]!,
    ]);
    // One 256 KiB buffer, overwritten before every read as a socket reading into it would.
    const lent = Buffer.alloc(256 * 1024);
    const frames: Buffer[] = [];
    for (let at = 0; at < wire.length; ) {
      const n = Math.min(lent.length, wire.length - at, at === 0 ? 50 : lent.length);
      wire.copy(lent, 0, at, at + n);
      frames.push(...r.push(lent.subarray(0, n)));
      lent.fill(0xee);
      at += n;
    }
    equal(frames.length, 5);
    for (const [i, want] of [...small, large, small[0]!].entries())
      ok(frames[i]!.equals(want), `frame ${i} intact`);
    equal(r.pendingBytes, 0);
    // The large frame came from the pool, taken when its first 64 KiB had arrived.
    pool.release(frames[3]!);
    ok(pool.get(10).buffer === frames[3]!.buffer, 'the pooled frame is reused');
  });

  test('3c a large frame is shown to its watcher while it fills (the same buffer push then returns), and abandoned on close', () => {
    const pool = new FramePool(4 << 20, 2, 1 << 20);
    const seen: Array<{ frame: Buffer; received: number }> = [];
    const abandoned: Buffer[] = [];
    const watch = {
      partial: (frame: Buffer, received: number) => {
        // What the watcher is told is there, is there.
        ok(
          frame.subarray(0, received).equals(large.subarray(0, received)),
          `first ${received} bytes in place`,
        );
        seen.push({ frame, received });
      },
      abandoned: (frame: Buffer) => abandoned.push(frame),
    };
    const large = Buffer.alloc(2 << 20);
    for (let i = 0; i < large.length; i += 4) large.writeUInt32LE(i * 7, i);
    const wire = Buffer.concat([frameHeader(large.length), large]);
    const r = new FrameReader(4 << 20, pool, watch);
    const frames: Buffer[] = [];
    for (let at = 0; at < wire.length; at += 200_000) frames.push(...r.push(wire.subarray(at, at + 200_000)));
    equal(frames.length, 1);
    ok(frames[0]!.equals(large));
    ok(seen.length >= 9, `told ${seen.length} times`);
    ok(
      seen.every((s) => s.frame === frames[0]),
      'always the frame push returned',
    );
    ok(
      seen.every((s, i) => i === 0 || s.received > seen[i - 1]!.received),
      'each time more has arrived',
    );
    ok(seen.at(-1)!.received < large.length, 'not told once whole: push returns it');
    // A connection closing halfway through a frame: the watcher hears of it.
    const r2 = new FrameReader(4 << 20, pool, watch);
    deepEqual(r2.push(wire.subarray(0, 300_000)), []);
    r2.close();
    equal(abandoned.length, 1);
    equal(abandoned[0]!.length, large.length);
    // Small frames are not shown.
    const before = seen.length;
    equal(
      new FrameReader(4 << 20, pool, watch).push(Buffer.concat([frameHeader(10), Buffer.alloc(10)])).length,
      1,
    );
    equal(seen.length, before);
  });

  test('4 the credit window: ids in order or out of order once, none past the grant, never zero credits', () => {
    const w = new CreditWindow(16);
    ok(w.consume(0n, 1));
    equal(w.grant(4), 4);
    ok(w.consume(3n, 1), 'out of order');
    ok(!w.consume(3n, 1), 'used twice');
    ok(w.consume(1n, 2), 'a 2-credit request');
    ok(!w.consume(5n, 1), 'past the window');
    equal(w.available, 1);
    ok(w.consume(4n, 1));
    equal(w.available, 0);
    equal(w.grant(0), 1, 'at least one credit');
    equal(w.grant(1000), 15, 'never more than the maximum outstanding');
  });

  test('5 create contexts: tags under 4 bytes and chains past their buffer are INVALID_PARAMETER', () => {
    const list = [
      { name: 'MxAc', data: Buffer.alloc(0) },
      { name: 'QFid', data: Buffer.alloc(0) },
      { name: 'FooO', data: Buffer.from('abc') },
    ];
    const enc = encodeCreateContexts(list);
    deepEqual(
      decodeCreateContexts(enc).map((c) => c.name),
      ['MxAc', 'QFid', 'FooO'],
    );
    const short = Buffer.from(enc);
    short.writeUInt16LE(3, 6);
    throws(
      () => decodeCreateContexts(short),
      (e: unknown) => e instanceof SmbError && e.status === NT_STATUS.STATUS_INVALID_PARAMETER,
    );
    throws(() => decodeCreateContexts(enc.subarray(0, enc.length - 4)), SmbError);
  });

  test('6 3.1.1 negotiate contexts: SHA-512 required, GCM preferred, 128-bit keys before 256-bit ones, duplicates refused', () => {
    const ctx = (type: number, data: number[]) => ({ type, data: Buffer.from(data) });
    const pre = ctx(1, [1, 0, 0, 0, 1, 0]);
    equal(chooseContexts([pre, ctx(2, [2, 0, 1, 0, 2, 0])]).cipher, 2);
    // AES-256-GCM offered alone is chosen; beside AES-128-CCM, the 128-bit key wins (Windows'
    // order); a cipher id this server does not know leaves none in common.
    equal(chooseContexts([pre, ctx(2, [1, 0, 4, 0])]).cipher, 4);
    equal(chooseContexts([pre, ctx(2, [2, 0, 4, 0, 1, 0])]).cipher, 1);
    equal(chooseContexts([pre, ctx(2, [1, 0, 9, 0])]).cipher, 0);
    throws(
      () => chooseContexts([ctx(2, [1, 0, 1, 0])]),
      (e: unknown) => (e as SmbError).status === NT_STATUS.STATUS_INVALID_PARAMETER,
    );
    throws(
      () => chooseContexts([ctx(1, [1, 0, 0, 0, 2, 0])]),
      (e: unknown) => (e as SmbError).status === NT_STATUS.STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP,
    );
    throws(() => chooseContexts([pre, pre]), SmbError);
  });

  test('7 the status table maps every namespace code, with an explicit default', () => {
    for (const code of FS_ERROR_CODES) ok(FS_STATUS[code] !== undefined, code);
    const rows: Array<[string, string]> = [
      ['ENOENT', 'STATUS_OBJECT_NAME_NOT_FOUND'],
      ['EEXIST', 'STATUS_OBJECT_NAME_COLLISION'],
      ['EACCES', 'STATUS_ACCESS_DENIED'],
      ['EPERM', 'STATUS_ACCESS_DENIED'],
      ['ENOTEMPTY', 'STATUS_DIRECTORY_NOT_EMPTY'],
      ['EISDIR', 'STATUS_FILE_IS_A_DIRECTORY'],
      ['ENOTDIR', 'STATUS_NOT_A_DIRECTORY'],
      ['EDQUOT', 'STATUS_DISK_FULL'],
      ['ENOSPC', 'STATUS_DISK_FULL'],
      ['EROFS', 'STATUS_MEDIA_WRITE_PROTECTED'],
      ['ENAMETOOLONG', 'STATUS_OBJECT_NAME_INVALID'],
      ['EINVAL', 'STATUS_INVALID_PARAMETER'],
      ['EAGAIN', 'STATUS_NETWORK_BUSY'],
      ['ESTALE', 'STATUS_FILE_CLOSED'],
      ['EIO', 'STATUS_UNEXPECTED_IO_ERROR'],
    ];
    for (const [code, name] of rows) {
      equal(ntStatusName(statusOf(fsError(code as never, 'x')).status), name, code);
    }
    equal(statusOf(new Error('boom')).status, DEFAULT_STATUS);
    ok(statusOf(new Error('boom')).unexpected);
    equal(ntStatusName(DEFAULT_STATUS), 'STATUS_INTERNAL_ERROR');
  });

  test('8 names: illegal characters, "..", streams and the default ::$DATA stream', () => {
    deepEqual(parseSmbName('a\\b.txt'), { components: ['a', 'b.txt'] });
    deepEqual(parseSmbName('a.txt::$DATA'), { components: ['a.txt'], defaultStream: true });
    equal(parseSmbName('a.txt:s1:$DATA').stream, 's1');
    deepEqual(parseSmbName('a\\.\\b\\..\\c').components, ['a', 'c']);
    throws(
      () => parseSmbName('..\\..\\x'),
      (e: unknown) => (e as SmbError).status === NT_STATUS.STATUS_OBJECT_PATH_SYNTAX_BAD,
    );
    for (const bad of ['a*b', 'a\\\\b', 'x?', 'a:b:c:d']) throws(() => parseSmbName(bad), SmbError, bad);
    throws(
      () => parseSmbName('\\lead'),
      (e: unknown) => (e as SmbError).status === NT_STATUS.STATUS_INVALID_PARAMETER,
    );
  });

  test('9 wildcards: *, ?, DOS_STAR, DOS_QM, DOS_DOT, case-insensitive', () => {
    const cases: Array<[string, string, boolean]> = [
      ['*', 'anything', true],
      ['*.*', 'noext', true],
      ['*.TXT', 'a.txt', true],
      ['?.txt', 'ab.txt', false],
      ['a?c', 'ABC', true],
      ['<.txt', 'a.b.txt', true],
      ['file>', 'file', true],
      ['file"', 'file', true],
      ['exact.doc', 'EXACT.DOC', true],
      ['exact.doc', 'exact.docx', false],
    ];
    for (const [p, n, want] of cases) equal(compilePattern(p)(n), want, `${p} ~ ${n}`);
  });

  test('10 SIDs S-1-22-1-uid / S-1-22-2-gid round-trip', () => {
    equal(sidString(uidSid(1000)), 'S-1-22-1-1000');
    equal(sidString(gidSid(100)), 'S-1-22-2-100');
    deepEqual(readSid(sidBytes(uidSid(4242)), 0), uidSid(4242));
    equal(readSid(Buffer.from([1, 9, 0]), 0), undefined);
  });

  test('11 EA lists encode and decode; bad names are refused', () => {
    const eas = [
      { name: 'EAONE', value: Buffer.from('VALUE1'), flags: 0 },
      { name: 'SECONDEA', value: Buffer.from('ValueTwo'), flags: 0 },
    ];
    deepEqual(decodeEaList(encodeEaList(eas)), eas);
    throws(() => decodeEaList(encodeEaList([{ name: 'a*b', value: Buffer.from('x'), flags: 0 }])), SmbError);
  });

  test('12 8.3 names: kept when legal, mangled when not, stable', () => {
    equal(shortName('README.TXT'), 'README.TXT');
    const m = shortName('a long file name.jpeg');
    ok(/^ALONG~[0-9A-Z]{2}\.JPE$/.test(m), m);
    equal(shortName('a long file name.jpeg'), m);
    // An 8.3 name in lower case is one already: NTFS keeps no other.
    equal(shortName('lower.txt'), 'lower.txt');
    // What a listing shows: the name, or its 8.3 name where Windows cannot hold it.
    equal(listedName('a long file name.jpeg'), 'a long file name.jpeg');
    ok(/^COLON~[0-9A-Z]{2}\.TXT$/.test(listedName('col:on.txt')), listedName('col:on.txt'));
    ok(mayBeShortName(listedName('back\\slash')) && !mayBeShortName('~$report.docx'));
  });

  test('13 srvsvc NetShareEnum (level 1) in NDR: shares and IPC$ with their types', () => {
    const w = new NdrWriter();
    w.pointer(true).string('\\\\127.0.0.1');
    w.u32(1).u32(1).pointer(true).u32(0).pointer(false);
    w.u32(0xffffffff).pointer(true).u32(0);
    const out = srvsvc([
      { name: 'export', remark: '', ipc: false, path: '/export' },
      { name: 'IPC$', remark: 'IPC', ipc: true, path: '' },
    ]).call(15, w.finish());
    ok('stub' in out);
    const r = new NdrReader(out.stub);
    equal(r.u32('level'), 1);
    r.u32('switch');
    r.u32('container');
    equal(r.u32('entries'), 2);
    r.u32('buffer');
    equal(r.u32('max'), 2);
    r.u32('name0');
    equal(r.u32('type0'), 0);
    r.u32('remark0');
    r.u32('name1');
    equal(r.u32('type1'), 0x80000003);
    r.u32('remark1');
    equal(r.string('name'), 'export');
    deepEqual(srvsvc([]).call(99, Buffer.alloc(0)), { fault: 'op_rng_error' });
  });
});
