import { deepEqual, equal, match, ok, throws } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SmbError } from '../../src/protocols/smb/errors.ts';
import {
  modeFromDacl,
  parseSecurityDescriptor,
  SECINFO,
  securityDescriptor,
} from '../../src/protocols/smb/info/security.ts';
import { EVERYONE, gidSid, uidSid } from '../../src/protocols/smb/sids.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import { ROOT } from '../../src/storage/types.ts';
import { type Port445Gateway, requirePort445, startPort445Gateway } from './fixture.ts';

/** smbcacls dials port 445 only: the gateway listens there on an address of its own. */
const ADDRESS = '127.0.0.47';

/**
 * Permissions set from Windows' Security tab or Samba's smbcacls: the owner's, the group's and
 * Everyone's entries become the mode bits (as Samba maps an NT ACL onto a file without POSIX
 * ACLs); owner and group become the file's; what mode bits cannot hold is refused, unchanged.
 */
describe('ACLs over SMB: smbcacls sets mode, owner and group; what mode bits cannot hold is refused', () => {
  let g: Port445Gateway;
  const skip = requirePort445('smbcacls', 'smbclient');

  before(async () => {
    if (skip.skip) return;
    g = await startPort445Gateway(ADDRESS);
    await g.gw.control.groups.add({ name: 'staff', gid: 1500 });
    await g.user('bo', 'Bo-acl-1234', { uid: 3400, groups: ['staff'] });
    await g.user('cy', 'Cy-acl-1234', { uid: 3500 });
    writeFileSync(join(g.work, 'note.txt'), 'hello');
    const put = await g.samba('smbclient', 'bo%Bo-acl-1234', ['-c', 'put note.txt note.txt; mkdir projects']);
    equal(put.code, 0, put.output);
  });
  after(() => g?.stop());

  const smbcacls = (auth: string, path: string, ...args: string[]) =>
    g.samba('smbcacls', auth, [path, ...args]);
  const attrs = async (path: string) => {
    const root = await g.gw.ns.lookup(ROOT, 1n, 'export');
    return g.gw.ns.lookup(ROOT, root.ino, path);
  };
  const setMode = async (path: string, mode: number) => {
    await g.gw.ns.setattr(ROOT, (await attrs(path)).ino, { mode });
  };

  test('1 -M Everyone:R on a 0640 file makes it 0644; smbcacls reads the entry back', skip, async () => {
    await setMode('note.txt', 0o640);
    const r = await smbcacls('bo%Bo-acl-1234', 'note.txt', '-M', 'ACL:Everyone:ALLOWED/0x0/R');
    equal(r.code, 0, r.output);
    equal((await attrs('note.txt')).mode & 0o777, 0o644);
    const shown = await smbcacls('bo%Bo-acl-1234', 'note.txt');
    match(shown.stdout, /^ACL:Everyone:ALLOWED\/0x0\/R$/m);
  });

  test(
    '2 -S replaces the whole descriptor: group changed, only the owner keeps rights (0700)',
    skip,
    async () => {
      const r = await smbcacls(
        'bo%Bo-acl-1234',
        'note.txt',
        '-S',
        'REVISION:1,OWNER:Unix User\\bo,GROUP:Unix Group\\staff,ACL:Unix User\\bo:ALLOWED/0x0/FULL',
      );
      equal(r.code, 0, r.output);
      const a = await attrs('note.txt');
      equal(a.mode & 0o777, 0o700);
      equal(a.gid, 1500);
      const shown = await smbcacls('bo%Bo-acl-1234', 'note.txt');
      match(shown.stdout, /^GROUP:Unix Group\\staff$/m);
      match(
        shown.stdout,
        /^ACL:Everyone:ALLOWED\/0x0\/0x00120080$/m,
        'Everyone keeps only what anyone may: read attributes',
      );
    },
  );

  test(
    '3 an entry for another user, a deny entry: NT_STATUS_NOT_SUPPORTED and the mode unchanged',
    skip,
    async () => {
      await setMode('note.txt', 0o640);
      for (const ace of ['ACL:Unix User\\cy:ALLOWED/0x0/R', 'ACL:Everyone:DENIED/0x0/W']) {
        const r = await smbcacls('bo%Bo-acl-1234', 'note.txt', '-a', ace);
        ok(r.code !== 0, r.output);
        match(r.output, /NT_STATUS_NOT_SUPPORTED/);
        equal((await attrs('note.txt')).mode & 0o777, 0o640, ace);
      }
    },
  );

  test(
    '4 someone else may neither change the permissions nor take the file; the owner may not give it away',
    skip,
    async () => {
      await setMode('note.txt', 0o644);
      const other = await smbcacls('cy%Cy-acl-1234', 'note.txt', '-M', 'ACL:Everyone:ALLOWED/0x0/FULL');
      ok(other.code !== 0, other.output);
      match(other.output, /NT_STATUS_ACCESS_DENIED/);
      const give = await smbcacls('bo%Bo-acl-1234', 'note.txt', '-C', 'cy');
      ok(give.code !== 0, give.output);
      match(give.output, /NT_STATUS_ACCESS_DENIED/);
      const a = await attrs('note.txt');
      equal(a.uid, 3400);
      equal(a.mode & 0o777, 0o644);
    },
  );

  test(
    '5 on a folder, inherit-only entries (CREATOR OWNER) are passed over; the rest sets the mode',
    skip,
    async () => {
      await setMode('projects', 0o755);
      const r = await smbcacls('bo%Bo-acl-1234', 'projects', '-a', 'ACL:S-1-3-0:ALLOWED/0xb/FULL');
      equal(r.code, 0, r.output);
      equal((await attrs('projects')).mode & 0o777, 0o755);
      const m = await smbcacls('bo%Bo-acl-1234', 'projects', '-M', 'ACL:Everyone:ALLOWED/0x3/0x0');
      equal(m.code, 0, m.output);
      equal((await attrs('projects')).mode & 0o777, 0o750);
    },
  );
});

describe('security descriptors: parsing and the mode a DACL stands for', () => {
  const file = { uid: 1000, gid: 100, mode: 0o4640, type: 'file' } as Parameters<
    typeof securityDescriptor
  >[0];

  test('6 what the gateway answers parses back to the same mode (setuid kept)', () => {
    const sd = parseSecurityDescriptor(
      securityDescriptor(file, SECINFO.OWNER | SECINFO.GROUP | SECINFO.DACL),
    );
    deepEqual(sd.owner, uidSid(1000));
    deepEqual(sd.group, gidSid(100));
    ok(sd.dacl);
    equal(modeFromDacl(sd.dacl, 1000, 100, file.mode), 0o4640);
    equal(
      modeFromDacl([{ type: 0, flags: 0, mask: 0x1000_0000, sid: EVERYONE }], 1000, 100, 0o640),
      0o777,
      'GENERIC_ALL for Everyone: the owner and the group, without entries of their own, are in Everyone',
    );
    const writeOnly = [
      { type: 0, flags: 0, mask: 0x2, sid: uidSid(1000) },
      { type: 0, flags: 0, mask: 0x1f01ff, sid: EVERYONE },
    ];
    equal(modeFromDacl(writeOnly, 1000, 100, 0o755), 0o677, 'a file: the owner keeps read (Samba)');
    equal(
      modeFromDacl(writeOnly, 1000, 100, 0o755, true),
      0o777,
      'a folder: the owner keeps read, write and execute, or its files could not be listed or deleted',
    );
  });

  test('7 malformed descriptors are STATUS_INVALID_SECURITY_DESCR; a NULL DACL is not supported', () => {
    const good = securityDescriptor(file, SECINFO.OWNER | SECINFO.DACL);
    const bad = (mutate: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      mutate(b);
      return b;
    };
    const cases: Array<[string, Buffer]> = [
      ['short', good.subarray(0, 12)],
      ['not self-relative', bad((b) => b.writeUInt16LE(0x0004, 2))],
      ['owner offset past the end', bad((b) => b.writeUInt32LE(5000, 4))],
      ['owner offset inside the header', bad((b) => b.writeUInt32LE(4, 4))],
      ['DACL past the end', bad((b) => b.writeUInt32LE(good.length - 4, 16))],
      ['ACE count larger than the DACL', bad((b) => b.writeUInt16LE(40, b.readUInt32LE(16) + 4))],
    ];
    const status = (code: number) => (e: unknown) => e instanceof SmbError && e.status === code;
    for (const [why, b] of cases) {
      throws(() => parseSecurityDescriptor(b), status(NT_STATUS.STATUS_INVALID_SECURITY_DESCR), why);
    }
    throws(() => modeFromDacl(null, 1, 1, 0o600), status(NT_STATUS.STATUS_NOT_SUPPORTED));
  });
});
