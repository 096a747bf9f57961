/**
 * The deterministic gateway the golden session is captured from (capture.ts) and replayed
 * against (replay.test.ts). Both sides must build exactly the same namespace, so that a
 * request captured from libnfs means the same thing when replayed: same inode numbers, same
 * generations, same file handles.
 *
 * What would otherwise differ between two gateways, and how it is pinned here:
 *
 * - The file-handle MAC key (`control.secrets.nfsHandleKey`, 32 random bytes stored in the
 *   control plane on first start). The NFS server keeps a reference to that Buffer and MACs
 *   with it on every encode and verify, so its bytes are overwritten with HANDLE_KEY right
 *   after start, before any handle has been minted.
 * - Inode generations (`randomInt(1, 2 ** 31)` in storage/sqlite/store.ts), carried in every
 *   handle and in the READDIR cookie verifier. `pinGenerations()` makes exactly that call
 *   return GENERATION (inode numbers are never reused, so (ino, gen) still names one file).
 * - Inode numbers and directory cookies come from SQLite AUTOINCREMENT: identical as long as
 *   the same operations happen in the same order, which `seedNamespace` and the capture
 *   proxy's one-call-at-a-time ordering guarantee.
 *
 * What stays run-specific and is masked by the comparison instead: times and the write
 * verifier (replies.ts, GOLDEN_MASKS).
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '../../src/storage/types.ts';
import { type ClientGateway, startClientGateway } from '../nfs-v3/gateway.ts';

/** 32 bytes, the size of the key the control plane creates. */
export const HANDLE_KEY = crypto.createHash('sha256').update('claudefs golden session handle key').digest();
export const GENERATION = 0x600d_5eed;
/** The generation draw of storage/sqlite/store.ts: `randomInt(1, 2 ** 31)`. */
const GENERATION_RANGE: readonly [number, number] = [1, 2 ** 31];

/** The AUTH_SYS identity libnfs sends (URL options uid/gid). */
export const GOLDEN_UID = 2100;
/** Directory of the session under the export; MNT of it exercises mounting below an export. */
export const GOLDEN_DIR = '/export/golden';
/** Entries made before the session in GOLDEN_DIR/many: READDIRPLUS needs several replies. */
export const MANY_ENTRIES = 120;

export const FIXTURE = join(import.meta.dirname, 'fixtures', 'libnfs-session.json');

let pinned = false;

/** Makes the store's generation draw return GENERATION from now on, in this process. */
export function pinGenerations(): void {
  if (pinned) return;
  pinned = true;
  const draw = crypto.randomInt as (min: number, max: number) => number;
  const [min, max] = GENERATION_RANGE;
  const pinnedDraw = (...args: unknown[]) =>
    args.length === 2 && args[0] === min && args[1] === max
      ? GENERATION
      : (Reflect.apply(draw, crypto, args) as number);
  (crypto as { randomInt: unknown }).randomInt = pinnedDraw;
  // `import { randomInt } from 'node:crypto'` bindings follow the CommonJS object only after this.
  syncBuiltinESMExports();
}

/**
 * A gateway (nfs-v3/gateway.ts) with generations and the handle key pinned and the namespace
 * seeded: GOLDEN_DIR owned by GOLDEN_UID, with MANY_ENTRIES empty files in GOLDEN_DIR/many.
 * `pinHandleKey: false` keeps the gateway's random key (the replay test's negative control).
 */
export async function startGoldenGateway(o: { pinHandleKey?: boolean } = {}): Promise<ClientGateway> {
  pinGenerations();
  const g = await startClientGateway({ exports: '{ path: /export, squash: none }' });
  if (o.pinHandleKey !== false) {
    const key = g.gw.control.secrets.nfsHandleKey;
    if (key.length !== HANDLE_KEY.length) throw new Error(`the handle key is ${key.length} bytes, not 32`);
    HANDLE_KEY.copy(key);
  }
  const ns = g.gw.ns;
  await ns.ensureDirectory(GOLDEN_DIR, 0o755, GOLDEN_UID, GOLDEN_UID);
  const many = await ns.ensureDirectory(`${GOLDEN_DIR}/many`, 0o755, GOLDEN_UID, GOLDEN_UID);
  // One at a time: inode numbers and cookies follow creation order.
  for (let i = 0; i < MANY_ENTRIES; i++) {
    await ns.create(ROOT, many.ino, `entry-with-a-longer-name-${String(i).padStart(4, '0')}`, 0o644);
  }
  return g;
}

// ---- the fixture -----------------------------------------------------------------------------

export type Service = 'NFS' | 'MOUNT';

export interface GoldenConnection {
  id: number;
  service: Service;
  /** The client command the connection belongs to. */
  client: string;
}

export interface GoldenExchange {
  conn: number;
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  /** The call as golden.ts's independent decoder reads it (checked by the replay test). */
  call: string;
  /** Record bodies (no record marking), base64. */
  request: string;
  reply: string;
}

export interface GoldenSession {
  about: string;
  libnfs: string;
  connections: GoldenConnection[];
  exchanges: GoldenExchange[];
}

export function readSession(path = FIXTURE): GoldenSession {
  return JSON.parse(readFileSync(path, 'utf8')) as GoldenSession;
}
