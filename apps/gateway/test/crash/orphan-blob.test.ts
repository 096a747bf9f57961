import { test } from 'node:test';
import { NfsClient } from './clients.ts';
import { BUCKET } from './workload.ts';
import { eachDelay, killDuringWrite } from './write-window.ts';

/**
 * Found by the mixed-protocol crash bench. A file created and never written has no blob, so
 * removing it queues no blob deletion — decided from its size and change id. A first write
 * cut short by a SIGKILL after its bytes reached the blob leaves both as they were: the file
 * looks never written, and removing it leaks the blob.
 */
test('1 SIGKILL during the first NFS write to a new file, then REMOVE: no orphan blob, fsck clean', () =>
  eachDelay(2, async (rig, attempt, delay) => {
    const name = `orphan-${attempt}`;
    const before = await NfsClient.mount(rig.access, '/export');
    try {
      await before.create((await before.walk([BUCKET, 'mix']))!, name);
    } finally {
      before.close();
    }
    await killDuringWrite(rig, `mix/${name}`, `nfs${attempt}`, delay);
    const nfs = await NfsClient.mount(rig.access, '/export');
    try {
      await nfs.remove((await nfs.walk([BUCKET, 'mix']))!, name);
    } finally {
      nfs.close();
    }
  }));
