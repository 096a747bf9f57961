import { equal, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeLockArgs, encodeUnlockArgs } from '../../src/protocols/nlm/codec.ts';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import { type CallSpec, decodeCallHeader, decodeReply, encodeCall } from '../../src/protocols/rpc/message.ts';
import { RecordDecoder, recordMark } from '../../src/protocols/rpc/record.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { ROOT } from '../../src/storage/types.ts';
import { startNfsGateway } from '../nfs-mount/fixture.ts';
import { fuzzCases, fuzzSeed, fuzzTimeoutMs, Rng, runFuzz } from '../support/fuzz.ts';
import { runCommand } from '../support/proc.ts';
import { toolPath } from '../support/tools.ts';
import { recordingProxy } from './capture.ts';
import { SYS_CRED } from './helpers.ts';

/** Frames sent in all: 20,000 in CI, times FUZZ_CASES_SCALE. */
const FRAMES = fuzzCases(20_000);
const PER_CONNECTION = 100;
const PARALLEL = 4;
/** A hang detector for the whole run, not a speed target: generous on two shared cores. */
const TIME_LIMIT_MS = fuzzTimeoutMs(240_000);

const INTERESTING = [
  0, 1, 2, 3, 4, 16, 17, 255, 256, 400, 401, 1024, 1025, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff,
];

/** One mutated call body (xid set to `xid` when the mutation left room for one). */
function mutate(r: Rng, golden: readonly Buffer[], xid: number): Buffer {
  const base = Buffer.from(r.pick(golden));
  if (base.length >= 4) base.writeUInt32BE(xid, 0);
  switch (r.below(6)) {
    case 0: {
      for (let i = 0, n = 1 + r.below(8); i < n; i++) base[r.below(base.length)] = r.below(256);
      return base;
    }
    case 1:
      return base.subarray(0, r.below(base.length + 1));
    case 2: {
      const extra = Buffer.alloc(r.below(64));
      for (let i = 0; i < extra.length; i++) extra[i] = r.below(256);
      return Buffer.concat([base, extra]);
    }
    case 3: {
      // A length, count or enum at a 4-byte boundary set to a boundary value.
      if (base.length >= 8) base.writeUInt32BE(r.pick(INTERESTING), 4 * (1 + r.below(base.length / 4 - 1)));
      return base;
    }
    case 4: {
      const other = r.pick(golden);
      const cut = 40 + r.below(Math.max(1, other.length - 40));
      return Buffer.concat([base.subarray(0, Math.min(base.length, 40 + r.below(40))), other.subarray(cut)]);
    }
    default:
      return base;
  }
}

/**
 * Record marking for a body: usually right, sometimes split in fragments, sometimes lying.
 * `intact`: the framing holds and the header parses, so the server must answer it.
 */
function frame(r: Rng, body: Buffer): { bytes: Buffer; intact: boolean } {
  const parses = (() => {
    try {
      decodeCallHeader(body);
      return body.length > 0;
    } catch {
      return false;
    }
  })();
  const roll = r.below(20);
  if (roll === 0) {
    // A lying length: the stream desynchronises (the server must close or wait for EOF).
    const mark = Buffer.alloc(4);
    mark.writeUInt32BE(r.pick([0x8000_0000, 0, 0xffff_ffff, 0x8000_0000 | r.below(1 << 24)]) >>> 0, 0);
    return { bytes: Buffer.concat([mark, body]), intact: false };
  }
  if (roll <= 3 && body.length > 2) {
    const cut = 1 + r.below(body.length - 1);
    const first = Buffer.alloc(4);
    first.writeUInt32BE(cut, 0);
    const bytes = Buffer.concat([
      first,
      body.subarray(0, cut),
      recordMark(body.length - cut),
      body.subarray(cut),
    ]);
    return { bytes, intact: parses };
  }
  return { bytes: Buffer.concat([recordMark(body.length), body]), intact: parses };
}

interface Outcome {
  replies: number;
  closed: boolean;
  malformed: string[];
}

/** Sends a batch, half-closes, and reads replies until the server closes (or the deadline). */
function exchange(port: number, bytes: Buffer, xids: Set<number>, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { replies: 0, closed: false, malformed: [] };
    const decoder = new RecordDecoder(64 * 1024 * 1024);
    const s = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, timeoutMs);
    s.on('data', (c: Buffer) => {
      decoder.push(c);
      try {
        for (let rec = decoder.next(); rec; rec = decoder.next()) {
          out.replies++;
          try {
            const reply = decodeReply(rec);
            if (!xids.has(reply.xid)) out.malformed.push(`reply to unknown xid ${reply.xid}`);
          } catch (e) {
            out.malformed.push(`${(e as Error).message}: ${rec.subarray(0, 32).toString('hex')}`);
          }
        }
      } catch (e) {
        out.malformed.push(`reply framing: ${(e as Error).message}`);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      out.closed = true;
      resolve(out);
    });
    s.on('connect', () => s.end(bytes));
  });
}

test(`1 fuzz: ${FRAMES} mutated golden frames; no crash, no hang, every reply well-formed or a clean close`, async (t) => {
  const started = performance.now();
  const g = await startNfsGateway({ exports: ['{ path: /export }', '{ path: /archive, access: ro }'] });
  const codes = new Map<string, number>();
  g.gw.connections.observers.push({
    request: (_p, op, _s, code) => {
      const k = `${op} ${code ?? 'OK'}`;
      codes.set(k, (codes.get(k) ?? 0) + 1);
    },
  });
  try {
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    const file = await g.gw.ns.create(ROOT, exp.ino, 'f.bin', 0o666);
    const dirFh = g.handles.encodeHandle(0, exp);
    const fileFh = g.handles.encodeHandle(0, file);
    const nfs = (proc: number, args: Buffer): CallSpec => ({
      xid: 0,
      prog: 100003,
      vers: 3,
      proc,
      cred: SYS_CRED,
      args,
    });
    const w = () => new XdrWriter();
    const lockArgs = {
      cookie: Buffer.from('ck'),
      block: false,
      exclusive: true,
      lock: { callerName: 'fuzz', fh: fileFh, oh: Buffer.from('oh'), svid: 1, offset: 0n, length: 10n },
      reclaim: false,
      state: 1,
    };
    const specs: CallSpec[] = [
      { xid: 0, prog: 100003, vers: 3, proc: 0 },
      nfs(1, w().opaque(fileFh).toBuffer()),
      nfs(3, w().opaque(dirFh).string('f.bin').toBuffer()),
      nfs(4, w().opaque(fileFh).uint32(0x3f).toBuffer()),
      nfs(6, w().opaque(fileFh).uint64(0n).uint32(4096).toBuffer()),
      nfs(7, w().opaque(fileFh).uint64(0n).uint32(5).uint32(2).opaque(Buffer.from('hello')).toBuffer()),
      nfs(
        8,
        w()
          .opaque(dirFh)
          .string('new')
          .uint32(0)
          .bool(true)
          .uint32(0o644)
          .bool(false)
          .bool(false)
          .bool(false)
          .uint32(0)
          .uint32(0)
          .toBuffer(),
      ),
      nfs(17, w().opaque(dirFh).uint64(0n).fixedOpaque(Buffer.alloc(8)).uint32(4096).toBuffer()),
      nfs(
        17 + 0,
        w().opaque(dirFh).uint64(0n).fixedOpaque(Buffer.alloc(8)).uint32(4096).uint32(65536).toBuffer(),
      ),
      nfs(19, w().opaque(dirFh).toBuffer()),
      { xid: 0, prog: 100005, vers: 3, proc: 1, cred: SYS_CRED, args: w().string('/export').toBuffer() },
      { xid: 0, prog: 100005, vers: 3, proc: 5 },
      { xid: 0, prog: 100005, vers: 1, proc: 2 },
      { xid: 0, prog: 100021, vers: 4, proc: 2, cred: SYS_CRED, args: encodeLockArgs(lockArgs) },
      { xid: 0, prog: 100021, vers: 4, proc: 4, cred: SYS_CRED, args: encodeUnlockArgs(lockArgs) },
      { xid: 0, prog: 100024, vers: 1, proc: 1, args: w().string('fuzz').toBuffer() },
      { xid: 0, prog: 100024, vers: 1, proc: 6, args: w().string('fuzz').int32(3).toBuffer() },
    ];
    const nfsGolden = specs.filter((s) => s.prog !== 100005).map((s) => encodeCall(s));
    const mountGolden = specs.filter((s) => s.prog === 100005).map((s) => encodeCall(s));

    // Frames real clients send, captured through a proxy, join the golden set.
    if (toolPath('nfs-cp') && toolPath('nfs-ls')) {
      const pn = await recordingProxy(g.nfsPort);
      const pm = await recordingProxy(g.mountPort);
      const local = join(g.dir, 'golden.txt');
      writeFileSync(local, 'golden frames\n');
      const url = (p: string) => `nfs://127.0.0.1${p}?nfsport=${pn.port}&mountport=${pm.port}&version=3`;
      await runCommand(toolPath('nfs-cp')!, [local, url('/export/golden.txt')], { timeoutMs: 30_000 });
      await runCommand(toolPath('nfs-ls')!, [url('/export')], { timeoutMs: 30_000 });
      pn.close();
      pm.close();
      nfsGolden.push(...pn.records);
      mountGolden.push(...pm.records);
      t.diagnostic(`captured ${pn.records.length} NFS and ${pm.records.length} MOUNT frames from libnfs`);
    }

    const r = new Rng(fuzzSeed('rpc frames'));
    let sent = 0;
    let xid = 1;
    let broken = 0;
    const problems: string[] = [];
    const check = (o: Outcome, answerable: number, n: number, what: string) => {
      if (!o.closed) problems.push(`${what}: neither answered and closed (${o.replies}/${n})`);
      if (o.replies < answerable || o.replies > n)
        problems.push(`${what}: ${o.replies} replies to ${answerable}..${n} calls`);
      problems.push(...o.malformed);
    };
    // Frames that keep the stream in step go in batches and must all be answered; a frame
    // that breaks the framing gets a connection of its own, which the server must close.
    const batch = async () => {
      while (sent < FRAMES) {
        const toMount = r.below(5) === 0;
        const golden = toMount ? mountGolden : nfsGolden;
        const port = toMount ? g.mountPort : g.nfsPort;
        const n = Math.min(PER_CONNECTION, FRAMES - sent);
        sent += n;
        const xids = new Set<number>();
        const parts: Buffer[] = [];
        const loners: Array<{ bytes: Buffer; xid: number }> = [];
        for (let i = 0; i < n; i++) {
          const body = mutate(r, golden, xid);
          const f = frame(r, body);
          if (f.intact) {
            // The mutation may have changed the xid itself: the reply carries the one sent.
            xids.add(body.readUInt32BE(0));
            parts.push(f.bytes);
          } else {
            loners.push({ bytes: f.bytes, xid });
          }
          xid++;
        }
        check(await exchange(port, Buffer.concat(parts), xids, 30_000), parts.length, parts.length, 'batch');
        for (const l of loners) {
          broken++;
          check(await exchange(port, l.bytes, new Set([l.xid]), 10_000), 0, 1, 'broken frame');
        }
      }
    };
    await runFuzz('ONC RPC frames (NFS, MOUNT, NLM, NSM)', FRAMES, async () => {
      await Promise.all(Array.from({ length: PARALLEL }, batch));
      equal(problems.length, 0, problems.slice(0, 20).join('\n'));
    });
    t.diagnostic(
      `${sent} frames (${broken} breaking the framing, each on its own connection), ${performance.now() - started} ms`,
    );
    t.diagnostic(
      [...codes]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 30)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
    );

    const faults = [...codes].filter(([k]) => k.endsWith(' SYSTEM_ERR'));
    t.diagnostic(
      `server faults (a procedure threw): ${faults.length === 0 ? 'none' : faults.map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    );
    // Still serving, and healthy.
    const c = await RpcClient.connect('127.0.0.1', g.nfsPort);
    const reply = await c.call({ prog: 100003, vers: 3, proc: 0 });
    c.close();
    equal(reply.status === 'accepted' && reply.stat, AcceptStat.SUCCESS);
    equal(await g.server.healthCheck().run(), undefined);
    ok(performance.now() - started < TIME_LIMIT_MS, `took ${performance.now() - started} ms`);
  } finally {
    await g.stop();
  }
});
