import type { Namespace } from '../../../storage/namespace.ts';
import type { Credential, FsStats } from '../../../storage/types.ts';

/**
 * A Time Machine share's size as Macs see it (Samba's `fruit:time machine max size`): the
 * volume is time_machine_max_size large, and what its backups take is each sparse bundle in
 * the share's root counted as its band size (from its Info.plist) times its bands, as Samba
 * counts it. Free space is what is left of that, and never more than the disk has. A Mac
 * thins old backups when it runs low, so the limit holds without refusing a write.
 *
 * Macs ask for the volume's size often during a backup; the count is kept for a few seconds.
 */
const PAGE = 1024;
const INFO_PLIST_MAX = 64 * 1024;
const FRESH_MS = 5_000;
const counted = new WeakMap<Namespace, Map<bigint, { at: number; used: bigint }>>();

export async function timeMachineStats(
  ns: Namespace,
  cred: Credential,
  rootIno: bigint,
  disk: FsStats,
  maxSize: number,
): Promise<FsStats> {
  const used = await backupsSize(ns, cred, rootIno);
  const total = BigInt(maxSize);
  const left = used >= total ? 0n : total - used;
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  return {
    ...disk,
    totalBytes: total,
    freeBytes: min(left, disk.freeBytes),
    availBytes: min(left, disk.availBytes),
  };
}

async function backupsSize(ns: Namespace, cred: Credential, rootIno: bigint): Promise<bigint> {
  let byRoot = counted.get(ns);
  if (!byRoot) {
    byRoot = new Map();
    counted.set(ns, byRoot);
  }
  const hit = byRoot.get(rootIno);
  if (hit && performance.now() - hit.at < FRESH_MS) return hit.used;
  let used = 0n;
  for await (const e of entries(ns, cred, rootIno)) {
    if (e.name.endsWith('.sparsebundle')) used += await bundleSize(ns, cred, e.ino);
  }
  byRoot.set(rootIno, { at: performance.now(), used });
  return used;
}

/** A bundle's band size times its bands; 0 while it lacks either (a backup still being set up). */
async function bundleSize(ns: Namespace, cred: Credential, bundle: bigint): Promise<bigint> {
  try {
    const plist = await ns.lookup(cred, bundle, 'Info.plist');
    const text = (await ns.read(cred, plist.ino, 0n, INFO_PLIST_MAX)).data.toString('utf8');
    const bandSize = /<key>band-size<\/key>\s*<integer>(\d+)<\/integer>/.exec(text)?.[1];
    if (bandSize === undefined) return 0n;
    const bands = await ns.lookup(cred, bundle, 'bands');
    let n = 0n;
    for await (const _ of entries(ns, cred, bands.ino)) n++;
    return BigInt(bandSize) * n;
  } catch {
    return 0n;
  }
}

async function* entries(ns: Namespace, cred: Credential, dir: bigint) {
  let cookie = 0n;
  for (;;) {
    const page = await ns.readdir(cred, dir, cookie, PAGE);
    yield* page.entries;
    if (page.eof || page.entries.length === 0) return;
    cookie = page.entries[page.entries.length - 1]!.cookie;
  }
}
