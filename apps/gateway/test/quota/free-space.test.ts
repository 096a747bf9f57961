import { equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QuotaInput } from '../../src/control/quotas.ts';
import { quotaEnforcer } from '../../src/ops/quota/feature.ts';
import { compileHarness, requireLibnfsDev } from '../nfs-v3/gateway.ts';
import { harnessFields } from '../nfs-v3/harness-output.ts';
import { type SmbGateway, smbclient, startSmbGateway } from '../smb/fixture.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';

const BLOCK = 4096n;
const MB = 1_000_000n;

interface Df {
  size: bigint;
  avail: bigint;
  free: bigint;
  files: bigint;
  ffree: bigint;
}

/**
 * What a user is shown as free space: with a quota, the limit is the volume's size and what is
 * left of it the free space — over NFS (libnfs statvfs → FSSTAT) and SMB (smbclient's `du` →
 * FileFsFullSizeInformation), as Samba and XFS project quotas report it.
 */
describe('free space as the caller’s quota leaves it: libnfs statvfs and smbclient du', () => {
  let g: SmbGateway;
  let harness: string;
  let work: string;
  let dave: { uid: number; gid: number };
  let erin: { uid: number; gid: number };
  const skip = { ...requireLibnfsDev(), ...requireTools('smbclient') };

  before(async () => {
    if (skip.skip) return;
    g = await startSmbGateway({ protocols: ['smb', 'nfs'] });
    harness = await compileHarness();
    work = makeTempDir('free-space');
    dave = await g.user('dave', 'Dave-quota-1', { uid: 3100 });
    erin = await g.user('erin', 'Erin-quota-1', { uid: 3200 });
  });
  after(() => g?.stop());

  /** libnfs's statvfs of the export as uid/gid (AUTH_SYS; the test export squashes only root). */
  async function nfsDf(who: { uid: number; gid: number }): Promise<Df> {
    const url = `nfs://127.0.0.1/export?nfsport=${g.nfsPort}&mountport=${g.mountPort}&version=3&uid=${who.uid}&gid=${who.gid}`;
    const r = await runCommand(harness, [url, 'statvfs', '/']);
    equal(r.code, 0, r.output);
    const f = harnessFields(r.stdout);
    const bsize = BigInt(f.bsize ?? 0);
    equal(bsize, BLOCK);
    return {
      size: BigInt(f.blocks ?? 0) * bsize,
      avail: BigInt(f.bavail ?? 0) * bsize,
      free: BigInt(f.bfree ?? 0) * bsize,
      files: BigInt(f.files ?? 0),
      ffree: BigInt(f.ffree ?? 0),
    };
  }

  /** smbclient's `du`: "N blocks of size B. A blocks available", as bytes. */
  async function smbDf(auth: string): Promise<{ size: bigint; avail: bigint }> {
    const r = await smbclient(g, auth, { share: 'export', commands: 'du', cwd: work });
    equal(r.code, 0, r.output);
    const m = /(\d+) blocks of size (\d+)\. (\d+) blocks available/.exec(r.stdout);
    ok(m, r.stdout);
    const [blocks, size, avail] = [m[1], m[2], m[3]].map((v) => BigInt(v ?? 0)) as [bigint, bigint, bigint];
    return { size: blocks * size, avail: avail * size };
  }

  async function setQuota(input: QuotaInput): Promise<void> {
    await g.gw.control.quotas.set(input);
    await quotaEnforcer(g.gw)!.refresh();
  }

  const blocksOf = (bytes: bigint) => (bytes / BLOCK) * BLOCK;

  test(
    '1 a user without a quota sees the volume; a hard byte limit becomes the size, the rest of it the free space',
    skip,
    async () => {
      const volume = await g.gw.ns.statfs();
      const before = await nfsDf(dave);
      equal(before.size, blocksOf(volume.totalBytes));

      writeFileSync(join(work, 'four.bin'), randomBytes(4_000_000));
      const put = await smbclient(g, 'dave%Dave-quota-1', {
        share: 'export',
        commands: 'put four.bin dave.bin',
        cwd: work,
      });
      equal(put.code, 0, put.output);
      const used = (await g.gw.ns.quotaUsage('uid', dave.uid)).bytes;
      ok(used >= 4_000_000n, `usage ${used}`);

      await setQuota({ kind: 'uid', subjectId: dave.uid, hardBytes: 10n * MB, hardUnit: 'MB' });
      const nfs = await nfsDf(dave);
      equal(nfs.size, blocksOf(10n * MB));
      equal(nfs.avail, blocksOf(10n * MB - used));
      equal(nfs.free, blocksOf(10n * MB - used));
      const smb = await smbDf('dave%Dave-quota-1');
      equal(smb.size, blocksOf(10n * MB));
      equal(smb.avail, blocksOf(10n * MB - used));

      // Another user, no quota: the whole volume still.
      const other = await nfsDf(erin);
      ok(other.size > 10n * MB, `erin sees ${other.size}`);
      const erinSmb = await smbDf('erin%Erin-quota-1');
      ok(erinSmb.size > 10n * MB, `erin sees ${erinSmb.size} over SMB`);
    },
  );

  test(
    '2 a soft limit is what the client is shown, as Samba and XFS show it; past it the volume reads full',
    skip,
    async () => {
      const used = (await g.gw.ns.quotaUsage('uid', dave.uid)).bytes;
      await setQuota({ kind: 'uid', subjectId: dave.uid, softBytes: 6n * MB, softUnit: 'MB' });
      const nfs = await nfsDf(dave);
      equal(nfs.size, blocksOf(6n * MB));
      equal(nfs.avail, blocksOf(6n * MB - used));

      await setQuota({ kind: 'uid', subjectId: dave.uid, softBytes: 2n * MB });
      const over = await nfsDf(dave);
      equal(over.size, blocksOf(used), 'past its limit the size is the usage');
      equal(over.avail, 0n);
      equal(over.free, 0n);
      const smb = await smbDf('dave%Dave-quota-1');
      equal(smb.avail, 0n);
      equal(smb.size, blocksOf(used));
    },
  );

  test(
    '3 a group’s inode limit caps the file counts its members see; the smaller of user and group wins',
    skip,
    async () => {
      await g.gw.control.quotas.remove('uid', dave.uid);
      const inodes = (await g.gw.ns.quotaUsage('gid', dave.gid)).inodes;
      ok(inodes >= 1n, `gid ${dave.gid} owns ${inodes} inodes`);
      await setQuota({ kind: 'gid', subjectId: dave.gid, hardInodes: 50n, hardBytes: 8n * MB });
      const nfs = await nfsDf(dave);
      equal(nfs.files, 50n);
      equal(nfs.ffree, 50n - inodes);
      const used = (await g.gw.ns.quotaUsage('gid', dave.gid)).bytes;
      equal(nfs.size, blocksOf(8n * MB));
      equal(nfs.avail, blocksOf(8n * MB - used));

      // A user limit below the group's: the user's.
      await setQuota({ kind: 'uid', subjectId: dave.uid, hardBytes: 7n * MB });
      equal((await nfsDf(dave)).size, blocksOf(7n * MB));
      // Erin is in her own group: neither applies.
      ok((await nfsDf(erin)).files > 50n);
    },
  );
});
