import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lsarpc } from '../../src/protocols/smb/dcerpc/lsarpc.ts';
import { NdrReader, NdrWriter } from '../../src/protocols/smb/dcerpc/ndr.ts';
import { uidSid } from '../../src/protocols/smb/sids.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import {
  type Port445Gateway,
  requirePort445,
  type SmbGateway,
  startPort445Gateway,
  startSmbGateway,
} from './fixture.ts';

/**
 * The lsarpc pipe: names for SIDs and SIDs for names, as Samba's clients and Windows' Security
 * tab ask for them — so owners, ACL entries and quota entries read `Unix User\ann`, not SIDs.
 */
describe('lsarpc lookups: rpcclient, smbcacls and smbcquotas show names', () => {
  let g: SmbGateway;
  let work: string;
  before(async () => {
    g = await startSmbGateway();
    await g.gw.control.groups.add({ name: 'staff', gid: 1500 });
    await g.user('ann', 'Ann-lookup-12', { uid: 3300, groups: ['staff'] });
    work = makeTempDir('lsarpc');
  });
  after(() => g?.stop());

  const rpcclient = (command: string) =>
    runCommand('rpcclient', ['127.0.0.1', '-p', String(g.port), '-U', 'ann%Ann-lookup-12', '-c', command], {
      cwd: work,
      env: { HOME: work },
    });

  test(
    '1 rpcclient lookupsids: accounts, groups, unnamed ids by number, root, Everyone; unknown SIDs unmapped',
    requireTools('rpcclient'),
    async () => {
      const r = await rpcclient(
        'lookupsids S-1-22-1-3300 S-1-22-2-1500 S-1-22-1-777 S-1-22-1-0 S-1-1-0 S-1-5-21-1-2-3-500',
      );
      equal(r.code, 0, r.output);
      match(r.stdout, /^S-1-22-1-3300 Unix User\\ann \(1\)$/m);
      match(r.stdout, /^S-1-22-2-1500 Unix Group\\staff \(2\)$/m);
      match(r.stdout, /^S-1-22-1-777 Unix User\\777 \(1\)$/m);
      match(r.stdout, /^S-1-22-1-0 Unix User\\root \(1\)$/m);
      match(r.stdout, /^S-1-1-0 \\Everyone \(5\)$/m);
      match(r.stdout, /^S-1-5-21-1-2-3-500 \*unknown\*\\\*unknown\* \(8\)$/m);
      // LookupSids2 (the level form) answers the same.
      const two = await rpcclient('lookupsids_level 2 S-1-22-1-3300');
      equal(two.code, 0, two.output);
      match(two.stdout, /^S-1-22-1-3300 Unix User\\ann \(1\)$/m);
    },
  );

  test(
    '2 rpcclient lookupnames: bare, domain- and Unix-qualified names; unknown names unmapped',
    requireTools('rpcclient'),
    async () => {
      const r = await rpcclient(
        'lookupnames ann staff "CLAUDEFS\\ann" "Unix User\\ann" "Unix Group\\1500" nosuch',
      );
      equal(r.code, 0, r.output);
      match(r.stdout, /^ann S-1-22-1-3300 \(User: 1\)$/m);
      match(r.stdout, /^staff S-1-22-2-1500 \(Domain Group: 2\)$/m);
      match(r.stdout, /^CLAUDEFS\\ann S-1-22-1-3300 \(User: 1\)$/m);
      match(r.stdout, /^Unix User\\ann S-1-22-1-3300 \(User: 1\)$/m);
      match(r.stdout, /^Unix Group\\1500 S-1-22-2-1500 \(Domain Group: 2\)$/m);
      match(r.stdout, /^nosuch S-0-0 \(UNKNOWN: 8\)$/m);
      const none = await rpcclient('lookupnames nosuch OTHERDOMAIN\\ann');
      match(none.output, /NT_STATUS_NONE_MAPPED/);
    },
  );

  test('3 a policy handle is needed and ends at close; malformed calls fault without an answer', () => {
    const lsa = lsarpc({ domains: ['CLAUDEFS'], users: [{ name: 'ann', uid: 3300 }], groups: [] });
    const open = lsa.call(44, new NdrWriter().pointer(false).u32(24).finish());
    ok('stub' in open);
    const handle = open.stub.subarray(0, 20);
    equal(open.stub.readUInt32LE(20), 0);
    const lookup = (h: Buffer) => {
      const w = new NdrWriter().bytes(h).u32(1).pointer(true).u32(1).pointer(true).sid(uidSid(3300));
      w.u32(0).pointer(false).u16(1).u32(0);
      return lsa.call(15, w.finish());
    };
    const found = lookup(handle);
    ok('stub' in found);
    equal(found.stub.readUInt32LE(found.stub.length - 4), 0, 'STATUS_SUCCESS');
    const bogus = lookup(Buffer.alloc(20, 7));
    ok('stub' in bogus);
    equal(bogus.stub.readUInt32LE(bogus.stub.length - 4), 0xc0000008, 'STATUS_INVALID_HANDLE');

    const closed = lsa.call(0, Buffer.from(handle));
    ok('stub' in closed);
    deepEqual(closed.stub.subarray(0, 20), Buffer.alloc(20));
    const after = lookup(handle);
    ok('stub' in after);
    equal(after.stub.readUInt32LE(after.stub.length - 4), 0xc0000008, 'closed handles are gone');

    // Truncated stubs, a conformance that disagrees with the count, a SID with 200 sub-authorities.
    deepEqual(lsa.call(15, handle.subarray(0, 12)), { fault: 'protocol_error' });
    const disagree = new NdrWriter().bytes(handle).u32(2).pointer(true).u32(1).finish();
    deepEqual(lsa.call(15, disagree), { fault: 'protocol_error' });
    const huge = new NdrWriter().bytes(handle).u32(1).pointer(true).u32(1).pointer(true).u32(200).finish();
    deepEqual(lsa.call(15, huge), { fault: 'protocol_error' });
    deepEqual(lsa.call(99, Buffer.alloc(0)), { fault: 'op_rng_error' });
    const names = new NdrWriter().bytes(handle).u32(5000).finish();
    deepEqual(lsa.call(14, names), { fault: 'protocol_error' }, 'more names than the limit');
  });

  test('4 LookupNames3 answers whole SIDs', () => {
    const lsa = lsarpc({ domains: ['CLAUDEFS'], users: [{ name: 'ann', uid: 3300 }], groups: [] });
    const open = lsa.call(6, new NdrWriter().pointer(false).u32(24).finish());
    ok('stub' in open);
    const w = new NdrWriter()
      .bytes(open.stub.subarray(0, 20))
      .u32(1)
      .u32(1)
      .unicodeHeader('ann')
      .unicodeBody('ann');
    w.u32(0).pointer(false).u16(1).u32(0).u32(0).u32(2);
    const out = lsa.call(68, w.finish());
    ok('stub' in out);
    const r = new NdrReader(out.stub);
    r.u32('domains ptr');
    equal(r.u32('domain entries'), 1);
    r.u32('domains array ptr');
    r.u32('max entries');
    r.u32('conformance');
    const domainName = r.unicodeHeader('name');
    r.u32('domain sid ptr');
    equal(r.unicodeBody(domainName, 'name'), 'Unix User');
    r.sid('domain sid');
    equal(r.u32('entries'), 1);
    r.u32('sids ptr');
    r.u32('conformance');
    equal(r.u32('use'), 1);
    ok(r.u32('sid ptr') !== 0);
    equal(r.u32('domain index'), 0);
    r.u32('flags');
    deepEqual(r.sid('sid'), uidSid(3300));
    equal(r.u32('mapped'), 1);
    equal(r.u32('status'), 0);
  });
});

/** smbcacls and smbcquotas dial port 445 only: a gateway of their own there, on its own address. */
describe('names where Samba’s tools show SIDs: smbcacls owners, smbcquotas -L', () => {
  const ADDRESS = '127.0.0.46';
  let g2: Port445Gateway;
  const skip = requirePort445('smbcacls', 'smbcquotas', 'smbclient');
  before(async () => {
    if (skip.skip) return;
    g2 = await startPort445Gateway(ADDRESS);
    await g2.user('ann', 'Ann-lookup-12', { uid: 3300 });
    await g2.gw.control.users.setRole('ann', 'admin');
    await g2.user('bo', 'Bo-lookup-123', { uid: 3400 });
    writeFileSync(join(g2.work, 'note.txt'), 'hello');
    const put = await g2.samba('smbclient', 'bo%Bo-lookup-123', ['-c', 'put note.txt note.txt']);
    equal(put.code, 0, put.output);
  });
  after(() => g2?.stop());

  test('5 smbcacls names the owner, the group and the entries', skip, async () => {
    const r = await g2.samba('smbcacls', 'bo%Bo-lookup-123', ['note.txt']);
    equal(r.code, 0, r.output);
    match(r.stdout, /^OWNER:Unix User\\bo$/m);
    match(r.stdout, /^GROUP:Unix Group\\bo$/m);
    match(r.stdout, /^ACL:Unix User\\bo:ALLOWED\/0x0\/RWDPO$/m);
    match(r.stdout, /^ACL:Everyone:ALLOWED\/0x0\/R$/m);
  });

  test('6 smbcquotas -L lists users by name; -u and -S take a name', skip, async () => {
    const set = await g2.samba('smbcquotas', 'ann%Ann-lookup-12', ['-S', 'UQLIM:bo:5000000/9000000']);
    equal(set.code, 0, set.output);
    match(set.stdout, /^Unix User\\bo\s+:\s+5\/\s+5000000\/\s+9000000$/m);
    const list = await g2.samba('smbcquotas', 'ann%Ann-lookup-12', ['-L']);
    equal(list.code, 0, list.output);
    match(list.stdout, /^Unix User\\bo\s+:\s+5\/\s*5000000\/\s*9000000$/m);
    match(list.stdout, /^Unix User\\root\s+:\s+0\/18446744073709551615\/18446744073709551615$/m);
    const mine = await g2.samba('smbcquotas', 'bo%Bo-lookup-123', ['-u', 'bo']);
    equal(mine.code, 0, mine.output);
    match(mine.stdout, /^Unix User\\bo\s+:/m);
  });
});
