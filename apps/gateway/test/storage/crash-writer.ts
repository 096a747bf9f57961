// A writer process for the crash test: runs atomic namespace operations from several
// concurrent workers and prints, synchronously, "BEGIN" with the outcome an operation would
// have and "ACK" once it returned (so it is durable). The test SIGKILLs it at random moments.
// With `async` (durability.metadata: async, flushed only hourly) an acknowledged change has
// reached the operating system but not the disk: a killed process must lose none of them.
// With `inline` (transport.inline_max 16 KiB) a put creates its file under a temporary name
// (inline, as NFS and SMB create files), writes, commits and renames it into place; appends
// then grow small files past the limit, moving them to their own blobs.
import { createHash, randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';

const [dir, workersArg, seedArg, durability, layout] = process.argv.slice(2);
const inline = layout === 'inline';
const workers = Number(workersArg ?? 4);
let seed = Number(seedArg ?? 1);
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  // The high bits: this generator's low bits repeat with short periods (the lowest two every
  // four calls), which made every put the large one.
  return Math.floor(seed / 65_536) % n;
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const emit = (line: object) => writeSync(1, `${JSON.stringify(line)}\n`);

const ns = await openNamespace({
  metadataUrl: `sqlite://${dir}/meta.db`,
  transportUrl: `file://${dir}/data`,
  ...(durability === 'async'
    ? { durability: { metadata: 'async', flushIntervalMs: 3_600_000, groupCommitMaxDelayMs: 0 } }
    : {}),
  ...(inline ? { inlineMaxBytes: 16 * 1024 } : {}),
});
const exp = await ns.ensureDirectory('/crash', 0o777);

async function worker(w: number): Promise<void> {
  // Start from what is there now: previous rounds left files behind.
  const state = new Map<string, Buffer>();
  for (let i = 0; i < 6; i++) {
    const name = `w${w}-${i}`;
    try {
      const a = await ns.lookup(ROOT, exp.ino, name);
      state.set(name, (await ns.read(ROOT, a.ino, 0n, Number(a.size))).data);
    } catch {}
  }
  for (let op = 0; ; op++) {
    const name = `w${w}-${rand(6)}`;
    const cur = state.get(name);
    const kind =
      cur === undefined ? 'put' : (['put', 'append', 'truncate', 'rename', 'remove'] as const)[rand(5)]!;
    const id = `${w}.${op}`;
    if (kind === 'put') {
      const data = randomBytes(rand(4) === 0 ? 200_000 : rand(5000));
      emit({ t: 'BEGIN', id, name, after: { [name]: sha(data) } });
      if (inline) {
        const tmpName = `.tmp-${seedArg}-${id}`;
        const tmp = await ns.create(ROOT, exp.ino, tmpName, 0o644);
        if (data.length > 0) await ns.write(ROOT, tmp.ino, 0n, data, 'unstable');
        await ns.commit(tmp.ino);
        await ns.rename(ROOT, exp.ino, tmpName, exp.ino, name);
      } else {
        const tmp = await ns.createDetached(ROOT, 0o644, 'upload');
        if (data.length > 0) await ns.write(ROOT, tmp.ino, 0n, data, 'unstable');
        await ns.commit(tmp.ino);
        await ns.linkDetached(ROOT, tmp.ino, exp.ino, name, true);
      }
      state.set(name, data);
    } else if (kind === 'append') {
      const extra = randomBytes(1 + rand(3000));
      const next = Buffer.concat([cur!, extra]);
      emit({ t: 'BEGIN', id, name, after: { [name]: sha(next) } });
      const a = await ns.lookup(ROOT, exp.ino, name);
      await ns.write(ROOT, a.ino, a.size, extra, 'data');
      state.set(name, next);
    } else if (kind === 'truncate') {
      const next = cur!.subarray(0, rand(cur!.length + 1));
      emit({ t: 'BEGIN', id, name, after: { [name]: sha(next) } });
      const a = await ns.lookup(ROOT, exp.ino, name);
      await ns.setattr(ROOT, a.ino, { size: BigInt(next.length) });
      state.set(name, Buffer.from(next));
    } else if (kind === 'rename') {
      const to = `w${w}-${rand(6)}`;
      if (to === name) continue;
      emit({ t: 'BEGIN', id, name, after: { [name]: null, [to]: sha(cur!) } });
      await ns.rename(ROOT, exp.ino, name, exp.ino, to);
      state.delete(name);
      state.set(to, cur!);
    } else {
      emit({ t: 'BEGIN', id, name, after: { [name]: null } });
      await ns.remove(ROOT, exp.ino, name);
      state.delete(name);
    }
    emit({ t: 'ACK', id });
  }
}

emit({ t: 'READY' });
await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
