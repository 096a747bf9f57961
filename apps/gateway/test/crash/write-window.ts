/**
 * Pinning down a crash window inside one write. A write puts its bytes in the blob first and
 * records them (size, change id) in a metadata transaction after; a SIGKILL between the two
 * leaves bytes the metadata does not know of. One large FILE_SYNC WRITE (4 MiB written and
 * fdatasync'ed: a window a few ms wide) is sent and the gateway SIGKILLed a few ms later, once
 * per delay, on a gateway of the test's own.
 */
import { ok } from 'node:assert/strict';
import { NfsClient, StableHow } from './clients.ts';
import { versionBytes } from './ledger.ts';
import { CrashRig } from './rig.ts';
import { fsck } from './verify.ts';
import { BUCKET } from './workload.ts';

export const WRITE_BYTES = 4 * 1024 * 1024;
/**
 * Where the window fell on this machine (4-9 ms). Few attempts: every one restarts the
 * gateway, and a test file silent for 60 s while another reports is taken for hung.
 */
const DELAYS_MS = [3, 5, 6, 7, 8, 10];

/**
 * On a fresh gateway, runs `attempt` once per delay; ./cfs fsck (which hashes every stored
 * MD5 and lists every blob) after every `fsckEvery` attempts and at the end, stopping at the
 * first finding.
 */
export async function eachDelay(
  fsckEvery: number,
  attempt: (rig: CrashRig, i: number, delay: number) => Promise<void>,
): Promise<void> {
  const rig = await CrashRig.create();
  try {
    for (const [i, delay] of DELAYS_MS.entries()) {
      await attempt(rig, i, delay);
      if ((i + 1) % fsckEvery === 0 || i === DELAYS_MS.length - 1) {
        const checked = await fsck(rig.configFile);
        const tried = DELAYS_MS.slice(0, i + 1).join(', ');
        ok(checked.clean, `after SIGKILLs at ${tried} ms into the WRITE:\n${checked.problems.join('\n')}`);
      }
    }
  } finally {
    await rig.close();
  }
}

/** A 4 MiB FILE_SYNC WRITE at offset 0 of `key`; SIGKILL `delay` ms after it is sent; restart. */
export async function killDuringWrite(rig: CrashRig, key: string, tag: string, delay: number): Promise<void> {
  const nfs = await NfsClient.mount(rig.access, '/export');
  try {
    const fh = (await nfs.walk([BUCKET, ...key.split('/')]))!;
    nfs.write(fh, 0, versionBytes(tag, WRITE_BYTES - 100), StableHow.FILE_SYNC).catch(() => {});
    await new Promise((r) => setTimeout(r, delay));
    await rig.kill();
  } finally {
    nfs.close();
  }
  await rig.start();
}
