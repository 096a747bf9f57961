import { equal, ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runFsck } from '../../src/storage/fsck/index.ts';
import { LAYOUT } from '../../src/storage/meta/rows.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const ROUNDS = Number(process.env.CFS_CRASH_ROUNDS ?? 8);
const ASYNC_ROUNDS = Number(process.env.CFS_CRASH_ROUNDS ?? 4);
const WORKERS = 4;

type Outcome = Record<string, string | null>;

/** Runs the writer until a random moment, SIGKILLs it, returns its BEGIN/ACK lines. */
async function runAndKill(
  dir: string,
  seed: number,
  durability: Durability,
  layout: Layout,
): Promise<Array<{ t: string; id?: string; after?: Outcome }>> {
  const args = ['--import', 'tsx', WRITER, dir, String(WORKERS), String(seed), durability, layout];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let buffer = '';
  const lines: Array<{ t: string; id?: string; after?: Outcome }> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      lines.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('writer never became ready')), 30_000);
    const poll = setInterval(() => {
      if (lines.some((l) => l.t === 'READY')) {
        clearInterval(poll);
        clearTimeout(t);
        resolve();
      }
    }, 10);
  });
  await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 600)));
  // A writer that failed on its own (rather than by the SIGKILL) is a failure of the test.
  if (child.exitCode !== null) throw new Error(`the writer exited by itself, code ${child.exitCode}`);
  child.kill('SIGKILL');
  await exited;
  return lines;
}

type Durability = 'sync' | 'async';
/** `inline`: files created by name keep small bytes in the metadata (crash-writer.ts). */
type Layout = 'blobs' | 'inline';

test(`acknowledged operations survive SIGKILL (${ROUNDS} rounds) and nothing half-done is visible`, () =>
  crashRounds('sync', ROUNDS));

// Async metadata durability answers a change once it is committed to the WAL in the page cache;
// here only the writer's commits and stable appends flush (the timer is an hour away), so its
// renames, removals and truncations are answered unflushed: a killed process loses none.
test(`with durability.metadata async (flushed hourly), acknowledged operations survive SIGKILL (${ASYNC_ROUNDS} rounds)`, () =>
  crashRounds('async', ASYNC_ROUNDS));

// Small files inline: their bytes are committed with their metadata, and appends move them to
// their own blobs (made durable before the metadata lets go of its copy) mid-round.
test(`with small files inline (transport.inline_max 16 KiB), acknowledged operations survive SIGKILL (${ASYNC_ROUNDS} rounds each, sync and async)`, async () => {
  await crashRounds('sync', ASYNC_ROUNDS, 'inline');
  await crashRounds('async', ASYNC_ROUNDS, 'inline');
});

async function crashRounds(durability: Durability, rounds: number, layout: Layout = 'blobs'): Promise<void> {
  const dir = makeTempDir('crash');
  /** Per name: the acknowledged content hash (null = absent). */
  const acked = new Map<string, string | null>();
  let totalAcked = 0;
  /** Layouts of the files read back in the last round (rows.ts LAYOUT). */
  const layouts = new Map<string, bigint>();
  for (let round = 0; round < rounds; round++) {
    const lines = await runAndKill(dir, round + 1, durability, layout);
    const begun = new Map<string, Outcome>();
    const pending = new Map<string, Outcome>();
    for (const l of lines) {
      if (l.t === 'BEGIN') {
        begun.set(l.id!, l.after!);
        pending.set(l.id!, l.after!);
      } else if (l.t === 'ACK') {
        for (const [name, h] of Object.entries(begun.get(l.id!)!)) acked.set(name, h);
        pending.delete(l.id!);
        totalAcked++;
      }
    }
    // Each worker has at most one operation in flight; its names may show either outcome.
    const alternatives = new Map<string, Set<string | null>>();
    for (const after of pending.values()) {
      for (const [name, h] of Object.entries(after)) {
        if (!alternatives.has(name)) alternatives.set(name, new Set());
        alternatives.get(name)!.add(h);
      }
    }
    const ns = await openNamespace({
      metadataUrl: `sqlite://${dir}/meta.db`,
      transportUrl: `file://${dir}/data`,
    });
    try {
      const crash = await ns.resolvePath(ROOT, '/crash');
      const names = new Set([...acked.keys(), ...alternatives.keys()]);
      for (const name of names) {
        let actual: string | null = null;
        try {
          const a = await ns.lookup(ROOT, crash.ino, name);
          const data = (await ns.read(ROOT, a.ino, 0n, Number(a.size))).data;
          layouts.set(name, (await ns.meta.row(a.ino))!.layout);
          equal(BigInt(data.length), a.size);
          actual = createHash('sha256').update(data).digest('hex');
        } catch (e) {
          if ((e as { code?: string }).code !== 'ENOENT') throw e;
        }
        const allowed = new Set([acked.get(name) ?? null, ...(alternatives.get(name) ?? [])]);
        ok(
          allowed.has(actual),
          `round ${round}: ${name} is ${actual}, expected one of ${[...allowed].join(', ')}`,
        );
        // What is on disk now is the truth the next round builds on.
        acked.set(name, actual);
      }
    } finally {
      await ns.close();
    }
    const report = await runFsck({ dbFile: `${dir}/meta.db`, dataDir: `${dir}/data` });
    ok(report.clean, `round ${round}: fsck found ${JSON.stringify(report.problems)}`);
  }
  ok(totalAcked > rounds * 10, `writers acknowledged only ${totalAcked} operations`);
  if (layout === 'inline') {
    const seen = [...layouts.values()];
    const all = [...layouts].map(([n, l]) => `${n}:${l}`).join(' ');
    ok(seen.includes(LAYOUT.inline), `some files are still inline: ${all}`);
    ok(seen.includes(LAYOUT.ownBlob), 'some files were moved to (or started in) their own blobs');
  }
}
