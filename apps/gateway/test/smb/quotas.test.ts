import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { NO_LIMIT } from '../../src/protocols/smb/info/quota-info.ts';
import { sidBytes, uidSid } from '../../src/protocols/smb/sids.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import {
  connectedClient,
  openOk,
  outputBuffer,
  queryInfoBody,
  setInfoBody,
  type TestClient,
} from './client.ts';
import { type Port445Gateway, requirePort445, startPort445Gateway } from './fixture.ts';

const QUOTA_FILE = '$Extend\\$Quota:$Q:$INDEX_ALLOCATION';
const INFO_QUOTA = 4;
/** smbcquotas dials 445 (or 139) only: the gateway listens there on an address of its own. */
const ADDRESS = '127.0.0.45';

/** SMB2_QUERY_QUOTA_INFO (MS-SMB2 §2.2.37.1) with a SID list, or none. */
function quotaQuery(o: { single?: boolean; restart?: boolean; sids?: Buffer } = {}): Buffer {
  const b = Buffer.alloc(16);
  b[0] = o.single ? 1 : 0;
  b[1] = o.restart ? 1 : 0;
  b.writeUInt32LE(o.sids?.length ?? 0, 4);
  return o.sids ? Buffer.concat([b, o.sids]) : b;
}

/** FILE_GET_QUOTA_INFORMATION list (MS-FSCC §2.4.41.1). */
function sidList(uids: number[]): Buffer {
  const parts = uids.map((uid, i) => {
    const sid = sidBytes(uidSid(uid));
    const e = Buffer.alloc(8 + sid.length);
    e.writeUInt32LE(i === uids.length - 1 ? 0 : e.length, 0);
    e.writeUInt32LE(sid.length, 4);
    sid.copy(e, 8);
    return e;
  });
  return Buffer.concat(parts);
}

/** FILE_QUOTA_INFORMATION entries of a reply: uid (from the S-1-22-1 SID), used, threshold, limit. */
function entriesOf(buf: Buffer): Array<{ uid: number; used: bigint; threshold: bigint; limit: bigint }> {
  const out = [];
  let off = 0;
  for (;;) {
    const next = buf.readUInt32LE(off);
    const sidLength = buf.readUInt32LE(off + 4);
    const sid = buf.subarray(off + 40, off + 40 + sidLength);
    out.push({
      uid: sid.readUInt32LE(12),
      used: buf.readBigUInt64LE(off + 16),
      threshold: buf.readBigUInt64LE(off + 24),
      limit: buf.readBigUInt64LE(off + 32),
    });
    if (next === 0) return out;
    ok(next % 8 === 0, `NextEntryOffset ${next} is 8-byte aligned`);
    off += next;
  }
}

describe('user quotas over SMB: smbcquotas, smbtorture’s quota file, Windows’ quota queries', () => {
  let g: Port445Gateway;
  const skip = requirePort445('smbcquotas', 'smbclient');

  before(async () => {
    if (skip.skip) return;
    g = await startPort445Gateway(ADDRESS);
    await g.user('ann', 'Ann-quota-12', { uid: 3300 });
    await g.gw.control.users.setRole('ann', 'admin');
    await g.user('bo', 'Bo-quota-123', { uid: 3400 });
    await g.user('cy', 'Cy-quota-123', { uid: 3500 });
    writeFileSync(join(g.work, 'data.bin'), Buffer.alloc(250_000, 7));
    const put = await g.samba('smbclient', 'bo%Bo-quota-123', ['-c', 'put data.bin bo.bin']);
    equal(put.code, 0, put.output);
    await g.gw.control.quotas.set({
      kind: 'uid',
      subjectId: 3400,
      softBytes: 5_000_000n,
      hardBytes: 9_000_000n,
    });
  });
  after(() => g?.stop());

  const smbcquotas = (auth: string, args: string[]) => g.samba('smbcquotas', auth, args);
  const client = (user: string, password: string) => connectedClient(445, user, password, { host: ADDRESS });

  test(
    '1 smbcquotas -F: quotas on and enforced, soft and hard crossings logged, no default limits',
    skip,
    async () => {
      const r = await smbcquotas('bo%Bo-quota-123', ['-F']);
      equal(r.code, 0, r.output);
      // smbcquotas prints the default limits as numbers: all ones is "no limit".
      match(r.stdout, /Default Soft Limit:\s+18446744073709551615\n/);
      match(r.stdout, /Default Hard Limit:\s+18446744073709551615\n/);
      match(r.stdout, /Quotas Enabled: On/);
      match(r.stdout, /Deny Disk:\s+On/);
      match(r.stdout, /Log Soft Limit: On/);
      match(r.stdout, /Log Hard Limit: On/);
    },
  );

  test(
    '2 smbcquotas -u: a user’s usage and limits as ./cfs quota has them; a user sees their own, not others’',
    skip,
    async () => {
      const used = (await g.gw.ns.quotaUsage('uid', 3400)).bytes;
      ok(used >= 250_000n, `usage ${used}`);
      for (const auth of ['ann%Ann-quota-12', 'bo%Bo-quota-123']) {
        const r = await smbcquotas(auth, ['-u', 'S-1-22-1-3400', '-n', '-v']);
        equal(r.code, 0, `${auth}: ${r.output}`);
        match(r.stdout, new RegExp(`Used Space:\\s+${used}\\n`));
        match(r.stdout, /Soft Limit:\s+5000000\n/);
        match(r.stdout, /Hard Limit:\s+9000000\n/);
      }
      const other = await smbcquotas('cy%Cy-quota-123', ['-u', 'S-1-22-1-3400', '-n']);
      ok(other.code !== 0, other.output);
      match(other.output, /NT_STATUS_ACCESS_DENIED/);
      const none = await smbcquotas('cy%Cy-quota-123', ['-u', 'S-1-22-1-3500', '-n']);
      equal(none.code, 0, none.output);
      match(none.stdout, /S-1-22-1-3500\s+:\s+0\/18446744073709551615\/18446744073709551615/);
    },
  );

  test(
    '3 smbcquotas -S by a console admin sets the limits, audited as smb:<user>; NO LIMIT clears one',
    skip,
    async () => {
      const r = await smbcquotas('ann%Ann-quota-12', ['-n', '-S', 'UQLIM:S-1-22-1-3500:1000000/2000000']);
      equal(r.code, 0, r.output);
      match(r.stdout, /S-1-22-1-3500\s+:\s+0\/\s+1000000\/\s+2000000/);
      const q = await g.gw.control.quotas.get('uid', 3500);
      equal(q?.softBytes, 1_000_000n);
      equal(q?.hardBytes, 2_000_000n);
      const entry = (await g.gw.control.audit.list({ action: 'quota.set' })).find(
        (e) => e.target === 'uid=3500',
      );
      equal(entry?.actor, 'smb:ann');
      equal(entry?.outcome, 'ok');
      deepEqual(entry?.detail, { soft: '1000000', hard: '2000000' });

      const clear = await smbcquotas('ann%Ann-quota-12', [
        '-n',
        '-S',
        `UQLIM:S-1-22-1-3500:${NO_LIMIT}/2000000`,
      ]);
      equal(clear.code, 0, clear.output);
      equal((await g.gw.control.quotas.get('uid', 3500))?.softBytes, null);
    },
  );

  test('4 anyone else’s -S is refused, changes nothing and is audited as denied', skip, async () => {
    const r = await smbcquotas('bo%Bo-quota-123', ['-n', '-S', 'UQLIM:S-1-22-1-3400:100000000/200000000']);
    ok(r.code !== 0, r.output);
    match(r.output, /NT_STATUS_ACCESS_DENIED/);
    equal((await g.gw.control.quotas.get('uid', 3400))?.hardBytes, 9_000_000n);
    const denied = (await g.gw.control.audit.list({ action: 'quota.set' })).find((e) => e.actor === 'smb:bo');
    equal(denied?.outcome, 'denied');
  });

  test(
    '5 the quota list pages one entry at a time, restarts, and ends with STATUS_NO_MORE_ENTRIES',
    skip,
    async () => {
      const c: TestClient = await client('ann', 'Ann-quota-12');
      try {
        const fid = await openOk(c, QUOTA_FILE, { disposition: 1 });
        const page = (o: Parameters<typeof quotaQuery>[0]) =>
          c.request({
            command: CMD.QUERY_INFO,
            body: queryInfoBody(fid, INFO_QUOTA, 0, 0xffff, 0, quotaQuery(o)),
          });
        const all = await page({ restart: true });
        equal(all.status, 0);
        const uids = entriesOf(outputBuffer(all)).map((e) => e.uid);
        // root owns the share's folders; bo owns a file; cy has a quota.
        deepEqual(uids, [0, 3400, 3500], 'uids with a quota or owning files, in uid order');
        equal((await page({})).status, NT_STATUS.STATUS_NO_MORE_ENTRIES);

        const seen: number[] = [];
        let r = await page({ restart: true, single: true });
        while (r.status === 0) {
          const entries = entriesOf(outputBuffer(r));
          equal(entries.length, 1);
          seen.push(entries[0]!.uid);
          r = await page({ single: true });
        }
        equal(r.status, NT_STATUS.STATUS_NO_MORE_ENTRIES);
        deepEqual(seen, uids);

        const listed = await page({ sids: sidList([3400, 99999]) });
        equal(listed.status, 0);
        const [bo, unknown] = entriesOf(outputBuffer(listed));
        equal(bo?.limit, 9_000_000n);
        deepEqual(unknown, { uid: 99999, used: 0n, threshold: NO_LIMIT, limit: NO_LIMIT });
      } finally {
        c.close();
      }
    },
  );

  test('6 a user without a console role lists only their own entry', skip, async () => {
    const c = await client('bo', 'Bo-quota-123');
    try {
      const fid = await openOk(c, QUOTA_FILE, { disposition: 1 });
      const r = await c.request({
        command: CMD.QUERY_INFO,
        body: queryInfoBody(fid, INFO_QUOTA, 0, 0xffff, 0, quotaQuery({ restart: true })),
      });
      equal(r.status, 0);
      deepEqual(
        entriesOf(outputBuffer(r)).map((e) => e.uid),
        [3400],
      );
    } finally {
      c.close();
    }
  });

  test(
    '7 bad quota requests: malformed SID lists and short buffers are STATUS_INVALID_PARAMETER, nothing changes',
    skip,
    async () => {
      const c = await client('ann', 'Ann-quota-12');
      try {
        const fid = await openOk(c, QUOTA_FILE, { disposition: 1 });
        const query = (input: Buffer, out = 0xffff) =>
          c.request({ command: CMD.QUERY_INFO, body: queryInfoBody(fid, INFO_QUOTA, 0, out, 0, input) });
        equal(
          (await query(Buffer.alloc(8))).status,
          NT_STATUS.STATUS_INVALID_PARAMETER,
          'shorter than the header',
        );
        const pastEnd = quotaQuery({ sids: sidList([3400]) });
        pastEnd.writeUInt32LE(500, 4);
        equal(
          (await query(pastEnd)).status,
          NT_STATUS.STATUS_INVALID_PARAMETER,
          'SidListLength past the buffer',
        );
        const looping = quotaQuery({ sids: sidList([3400, 3500]) });
        looping.writeUInt32LE(2, 16);
        equal(
          (await query(looping)).status,
          NT_STATUS.STATUS_INVALID_PARAMETER,
          'NextEntryOffset inside the entry',
        );
        const badSid = quotaQuery({ sids: sidList([3400]) });
        badSid[24] = 9;
        equal((await query(badSid)).status, NT_STATUS.STATUS_INVALID_PARAMETER, 'SID revision 9');
        equal((await query(quotaQuery({ restart: true }), 20)).status, NT_STATUS.STATUS_BUFFER_TOO_SMALL);

        const before = await g.gw.control.quotas.list('uid');
        const bad = Buffer.alloc(30);
        equal(
          (await c.request({ command: CMD.SET_INFO, body: setInfoBody(fid, 0, bad, INFO_QUOTA) })).status,
          NT_STATUS.STATUS_INVALID_PARAMETER,
        );
        const sid = sidBytes(uidSid(3400));
        const above = Buffer.alloc(40 + sid.length);
        above.writeUInt32LE(sid.length, 4);
        above.writeBigUInt64LE(10n, 24);
        above.writeBigUInt64LE(5n, 32);
        sid.copy(above, 40);
        equal(
          (await c.request({ command: CMD.SET_INFO, body: setInfoBody(fid, 0, above, INFO_QUOTA) })).status,
          NT_STATUS.STATUS_INVALID_PARAMETER,
          'a threshold above the limit',
        );
        deepEqual(await g.gw.control.quotas.list('uid'), before);
      } finally {
        c.close();
      }
    },
  );
});
