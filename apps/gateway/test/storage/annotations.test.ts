import { equal, ok, rejects } from 'node:assert/strict';
import { test } from 'node:test';
import { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR } from '../../src/storage/annotations.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { BackendFaults } from '../support/faults.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { ALICE } from './fixture.ts';

test('1 a write over a file whose S3 ETag is cached never leaves that ETag vouching for new bytes, even when its commit fails', async () => {
  const dir = makeTempDir('annot');
  const faults = new BackendFaults();
  const ns = await openNamespace({
    metadataUrl: `sqlite://${dir}/meta.db`,
    transportUrl: `file://${dir}/data`,
    wrapStores: faults.wrap,
  });
  try {
    const exp = (await ns.ensureDirectory('/export', 0o1777)).ino;
    const file = await ns.create(ALICE, exp, 'report.csv', 0o644);
    await ns.write(ALICE, file.ino, 0n, Buffer.from('a,b\n1,2\n'));
    const cached = await ns.getattr(file.ino);
    // What an S3 GET records once it has computed the ETag of a file written over NFS or SMB.
    await ns.setXattrs(
      ALICE,
      file.ino,
      {
        [ETAG_MD5_XATTR]: Buffer.from('md5-of-a,b'),
        [ETAG_CHANGE_XATTR]: Buffer.from(String(cached.changeId)),
      },
      { quiet: true },
    );
    // The metadata store now refuses every change: the write's commit cannot happen (as in a
    // crash between its data write and its commit).
    faults.arm('metadata', { errno: 'SQLITE_IOERR_WRITE', calls: 'writes' });
    await rejects(ns.write(ALICE, file.ino, 0n, Buffer.from('x,y\n')));
    faults.clear();
    const bytes = (await ns.read(ALICE, file.ino, 0n, 64)).data.toString();
    const changeId = (await ns.getattr(file.ino)).changeId;
    const stillVouches = (await ns.getXattr(file.ino, ETAG_CHANGE_XATTR))?.toString() === String(changeId);
    ok(
      !(stillVouches && bytes !== 'a,b\n1,2\n'),
      `the cached ETag still vouches for the file, whose bytes are now ${JSON.stringify(bytes)}`,
    );
    // Without the fault the write goes through and the cached ETag no longer applies.
    await ns.write(ALICE, file.ino, 0n, Buffer.from('x,y\n'));
    equal((await ns.read(ALICE, file.ino, 0n, 64)).data.toString(), 'x,y\n1,2\n');
    const after = await ns.getattr(file.ino);
    ok((await ns.getXattr(file.ino, ETAG_CHANGE_XATTR))?.toString() !== String(after.changeId));
  } finally {
    await ns.close();
  }
});
