import { rejects } from 'node:assert/strict';
import type { LedgerGate } from '../../src/storage/ledger-gate.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import type { Credential } from '../../src/storage/types.ts';
import { sharedPostgres } from '../support/postgres.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export const ALICE: Credential = { uid: 1000, gid: 1000, gids: [] };
export const BOB: Credential = { uid: 1001, gid: 1001, gids: [] };
export const CAROL_IN_1000: Credential = { uid: 1002, gid: 1002, gids: [1000] };

export interface Fixture {
  dir: string;
  ns: OpenedNamespace;
  reopen(): Promise<OpenedNamespace>;
}

/**
 * The metadata store the fixtures open: SQLite, or — with CFS_TEST_METADATA=postgres (the
 * test/metadata-pg suite sets it) — a fresh database on the test process's PostgreSQL.
 */
async function metadataUrl(dir: string): Promise<string> {
  if (process.env.CFS_TEST_METADATA !== 'postgres') return `sqlite://${dir}/meta.db`;
  return (await sharedPostgres()).createDatabase();
}

export async function openFixture(
  opts: { gate?: LedgerGate; cache?: boolean; inlineMaxBytes?: number } = {},
): Promise<Fixture> {
  const dir = makeTempDir('ns');
  const url = await metadataUrl(dir);
  const open = () =>
    openNamespace({
      metadataUrl: url,
      transportUrl: `file://${dir}/data`,
      gate: opts.gate,
      cacheTtlMs: opts.cache === false ? 0 : 1000,
      inlineMaxBytes: opts.inlineMaxBytes,
    });
  const fx: Fixture = {
    dir,
    ns: await open(),
    async reopen() {
      await fx.ns.close();
      fx.ns = await open();
      return fx.ns;
    },
  };
  return fx;
}

/** Asserts the promise rejects with the namespace error code. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await rejects(p, (e: { code?: string }) => {
    if (e.code !== code) throw new Error(`expected ${code}, got ${String(e.code)}: ${String(e)}`);
    return true;
  });
}

export async function names(fx: Fixture, dir: bigint): Promise<string[]> {
  const out: string[] = [];
  let cookie = 0n;
  for (;;) {
    const page = await fx.ns.readdir({ uid: 0, gid: 0, gids: [] }, dir, cookie, 500);
    for (const e of page.entries) out.push(e.name);
    if (page.eof || page.entries.length === 0) return out.sort();
    cookie = page.entries.at(-1)!.cookie;
  }
}
