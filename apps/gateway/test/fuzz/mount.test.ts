/**
 * MOUNT (RFC 1813 appendix I) under hostile calls, in process: whole call records — RPC header
 * and MNT / UMNT / UMNTALL / EXPORT / DUMP / NULL arguments, over versions 1 and 3, AUTH_SYS and
 * AUTH_NONE — mutated byte-wise, in their header words and in their dirpath, then routed by the
 * RpcDispatcher to the MOUNT program over a real namespace. Every call whose header parses gets
 * a well-formed reply to its xid: a result (MNT's mountstat3 never SERVERFAULT or IO — a bad
 * path is not a backend failure), GARBAGE_ARGS, PROC_UNAVAIL, PROG_UNAVAIL / PROG_MISMATCH, or
 * an RPC_MISMATCH / AUTH_ERROR denial; never SYSTEM_ERR, never a throw. A header that does not
 * parse is an RpcFramingError (the connection loop closes the connection on it).
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { parseClientMatch } from '../../src/config/address.ts';
import { ConnectionRegistry } from '../../src/ops/connections.ts';
import { ClientAccess } from '../../src/protocols/client-access.ts';
import { MNTNAMLEN, MNTPATHLEN, MountProc, Mountstat3 } from '../../src/protocols/mount/codec.ts';
import { MountTable } from '../../src/protocols/mount/mount-table.ts';
import { servedMountProgram } from '../../src/protocols/mount/program.ts';
import { NfsHandles } from '../../src/protocols/nfs/v3/handle.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import { RpcDispatcher } from '../../src/protocols/rpc/dispatch.ts';
import {
  type CallSpec,
  decodeCallHeader,
  decodeReply,
  encodeCall,
  RpcFramingError,
} from '../../src/protocols/rpc/message.ts';
import type { RpcCred } from '../../src/protocols/rpc/program.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { nfsExport } from '../nfs-v3/harness.ts';
import { fuzzCases, fuzzSeed, mutateBytes, Rng, rss, runFuzz } from '../support/fuzz.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const CASES = fuzzCases(20_000);
const MOUNT_PROG = 100005;
/** Bounded memory: what 20,000 or 1,000,000 calls may add to the resident set (a leak shows as more). */
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024;

const EXPORTS = [
  // The configuration's default client list (DEFAULTS.exportClients): every IPv4 client.
  nfsExport({ path: '/export', clients: [parseClientMatch('0.0.0.0/0')] }),
  nfsExport({ path: '/private', clients: ['10.0.0.0/8', 'fd00::/8'].map(parseClientMatch) }),
  nfsExport({ path: '/byname', clients: ['*.lab.example', 'trusted.example'].map(parseClientMatch) }),
  nfsExport({ path: '/ro', access: 'ro', clients: ['127.0.0.0/8', '::1/128'].map(parseClientMatch) }),
];
/** Addresses a call comes from: inside and outside the export lists, mapped, and not addresses at all. */
const ADDRESSES = ['127.0.0.1', '10.1.2.3', '::ffff:10.9.9.9', 'fd00::7', '192.0.2.7', '::1', 'not-an-ip'];

const SYS: RpcCred = { flavor: 'sys', stamp: 7, machine: 'fuzz', uid: 1000, gid: 1000, gids: [1000] };
const ROOT_SYS: RpcCred = { ...SYS, uid: 0, gid: 0, gids: [] };

const dirpath = (path: string | Buffer): Buffer =>
  (typeof path === 'string' ? new XdrWriter().string(path) : new XdrWriter().opaque(path)).toBuffer();

/** Paths built from pieces that matter to normaliseMountPath, exportContaining and the namespace. */
const PATH_PIECES = [
  'export',
  'private',
  'byname',
  'ro',
  'sub',
  'deeper',
  'file.txt',
  'nowhere',
  'exporter',
  '.',
  '..',
  '',
  '\0',
  'é',
  '%2e%2e',
  ' ',
  'x'.repeat(MNTNAMLEN + 1),
];

function randomPath(r: Rng): Buffer {
  const parts: string[] = [];
  // Half the paths start inside an export, so the lookups below the export check run too.
  if (r.chance(2)) parts.push(...r.pick(MOUNTABLE).split('/').slice(1));
  for (let n = r.below(r.chance(2) ? 2 : 6); n > 0; n--) parts.push(r.pick(PATH_PIECES));
  let path = `${r.chance(8) ? '' : '/'}${parts.join(r.chance(10) ? '//' : '/')}${r.chance(6) ? '/' : ''}`;
  if (r.chance(40)) path = `/export/${'a/'.repeat(MNTPATHLEN / 2)}`;
  const bytes = Buffer.from(path);
  // Some paths are not UTF-8 at all.
  if (r.chance(10) && bytes.length > 0) bytes[r.below(bytes.length)] = 0x80 + r.below(0x80);
  return bytes;
}

const MOUNTABLE = ['/export', '/export/sub', '/export/sub/deeper', '/private', '/byname', '/ro'];

/** Calls real clients make (mount, umount, showmount -e / -a), each over both flavours where it matters. */
function goldenCalls(): CallSpec[] {
  const calls: CallSpec[] = [];
  const paths = [...MOUNTABLE, '/export/file.txt', '/'];
  for (const cred of [SYS, ROOT_SYS, { flavor: 'none' as const }]) {
    calls.push({ xid: 0, prog: MOUNT_PROG, vers: 3, proc: MountProc.NULL, cred });
    for (const p of paths) {
      calls.push({ xid: 0, prog: MOUNT_PROG, vers: 3, proc: MountProc.MNT, cred, args: dirpath(p) });
      calls.push({ xid: 0, prog: MOUNT_PROG, vers: 3, proc: MountProc.UMNT, cred, args: dirpath(p) });
    }
    for (const vers of [1, 3]) {
      for (const proc of [MountProc.DUMP, MountProc.EXPORT, MountProc.UMNTALL]) {
        calls.push({ xid: 0, prog: MOUNT_PROG, vers, proc, cred });
      }
      calls.push({ xid: 0, prog: MOUNT_PROG, vers, proc: MountProc.UMNT, cred, args: dirpath('/export') });
    }
  }
  return calls;
}

/** The 32-bit words of the call header a server reads first: xid, mtype, rpcvers, prog, vers, proc, flavor. */
const HEADER_WORDS = [0, 4, 8, 12, 16, 20, 24, 28];
const INTERESTING_WORDS = [0, 1, 2, 3, 4, 5, 6, 100003, 100005, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

function hostileCall(r: Rng, golden: readonly CallSpec[], pool: readonly Buffer[], xid: number): Buffer {
  const spec = { ...r.pick(golden), xid };
  switch (r.below(5)) {
    case 0:
    case 1: {
      // The arguments: a path of hostile pieces, or none, or one too many.
      const args =
        spec.proc === MountProc.MNT || spec.proc === MountProc.UMNT || r.chance(4)
          ? dirpath(randomPath(r))
          : Buffer.alloc(0);
      return encodeCall({ ...spec, args: r.chance(10) ? Buffer.concat([args, r.bytes(4)]) : args });
    }
    case 2: {
      // A header word set to a boundary value: another program, version, procedure, message type, flavour.
      const b = encodeCall(spec);
      const at = r.pick(HEADER_WORDS);
      b.writeUInt32BE(r.chance(3) ? r.next() : r.pick(INTERESTING_WORDS), at);
      return b;
    }
    case 3: {
      // The dirpath's length word lies.
      const b = encodeCall({ ...spec, args: spec.args ?? dirpath('/export') });
      const lengthAt = b.length - (spec.args ?? dirpath('/export')).length;
      b.writeUInt32BE(r.pick([0, 1, 3, MNTPATHLEN, MNTPATHLEN + 1, 0xffff_ffff, r.next()]), lengthAt);
      return b;
    }
    default:
      return mutateBytes(r, encodeCall(spec), pool, 4);
  }
}

/** mountres3: MNT3_OK with a handle and [AUTH_SYS], or one MNT3ERR_* status alone. */
function checkMnt(r: XdrReader, what: string): number {
  const status = r.uint32('mountstat3');
  ok(Object.values(Mountstat3).includes(status as Mountstat3), `${what}: ${status} is not a mountstat3`);
  // SERVERFAULT: an exception the status table does not know; IO: a backend failure (it would
  // count toward opening a circuit) — neither is an answer to a bad path.
  ok(status !== Mountstat3.SERVERFAULT && status !== Mountstat3.IO, `${what}: answered ${status}`);
  if (status === Mountstat3.OK) {
    ok(r.opaque(64, 'fhandle').length > 0, `${what}: an empty handle`);
    deepEqual(
      r.array(16, 'flavors', () => r.uint32('flavor')),
      [1],
    );
  }
  r.end('mountres3');
  return status;
}

function checkLists(r: XdrReader, proc: number): void {
  if (proc === MountProc.EXPORT) {
    while (r.bool('exportnode')) {
      r.string(MNTPATHLEN, 'ex_dir');
      while (r.bool('groupnode')) r.string(MNTNAMLEN, 'gr_name');
    }
  } else {
    while (r.bool('mountbody')) {
      r.string(MNTNAMLEN, 'ml_hostname');
      r.string(MNTPATHLEN, 'ml_directory');
    }
  }
  r.end(proc === MountProc.EXPORT ? 'exports' : 'mountlist');
}

let dir: string;
let ns: OpenedNamespace;

before(async () => {
  dir = makeTempDir('fuzz-mount');
  ns = await openNamespace({ metadataUrl: `sqlite://${dir}/meta.db`, transportUrl: `file://${dir}/data` });
  for (const e of EXPORTS) await ns.ensureDirectory(e.path, e.mode, e.ownerUid, e.ownerGid);
  const exp = await ns.resolvePath(ROOT, '/export');
  const sub = await ns.mkdir(ROOT, exp.ino, 'sub', 0o755);
  await ns.mkdir(ROOT, sub.ino, 'deeper', 0o700);
  await ns.create(ROOT, exp.ino, 'file.txt', 0o644);
});
after(() => ns?.close());

test(`1 ${CASES} mutated MOUNT calls (headers and MNT/UMNT/UMNTALL/EXPORT/DUMP arguments): a protocol answer to each, never SYSTEM_ERR or a throw`, async (t) => {
  const r = new Rng(fuzzSeed('mount calls'));
  const errors: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
  const mounts = new MountTable();
  const dispatcher = new RpcDispatcher(
    [
      servedMountProgram({
        ns,
        exports: EXPORTS,
        // No DNS here: the name lookups of host-pattern exports answer from this table.
        access: new ClientAccess({
          reverse: async (a) => (a === '10.1.2.3' ? ['ws1.lab.example'] : []),
          forward: async (n) =>
            n === 'ws1.lab.example' ? ['10.1.2.3'] : n === 'trusted.example' ? ['192.0.2.7'] : [],
        }),
        handleOf: (i, d) => handles.encodeHandle(i, d),
        mounts,
        log,
      }),
    ],
    log,
    undefined,
  );
  const handles = new NfsHandles(randomBytes(32), ns, EXPORTS);
  const registry = new ConnectionRegistry(ADDRESSES.length);
  const conns = ADDRESSES.map((a, i) => ({ address: a, conn: registry.accept('nfs', a, 700 + i, 20048)! }));
  const golden = goldenCalls();
  const pool = golden.map((c) => encodeCall(c));
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const rssBefore = rss();

  await runFuzz('MOUNT calls', CASES, async () => {
    for (let i = 0; i < CASES; i++) {
      const record = hostileCall(r, golden, pool, i + 1);
      const what = `call ${i} ${record.toString('hex').slice(0, 400)}`;
      let header: ReturnType<typeof decodeCallHeader>;
      try {
        header = decodeCallHeader(record);
      } catch (e) {
        ok(e instanceof RpcFramingError, `${what}: the header decoder threw ${(e as Error).stack}`);
        count('framing error (connection closed)');
        continue;
      }
      const from = r.pick(conns);
      const answer = await dispatcher.dispatch(header, record, {
        remoteAddress: from.address,
        remotePort: from.conn.info.remotePort,
        conn: from.conn,
        connection: from,
      });
      ok(answer, `${what}: no reply`);
      const reply = decodeReply(Buffer.concat(answer.chunks));
      answer.sent?.();
      equal(reply.xid, header.xid, `${what}: reply to another xid`);
      if (reply.status !== 'accepted') {
        count(reply.status);
        continue;
      }
      ok(reply.stat !== AcceptStat.SYSTEM_ERR, `${what}: SYSTEM_ERR (a procedure threw)`);
      if (reply.stat !== AcceptStat.SUCCESS) {
        count(Object.keys(AcceptStat).find((k) => AcceptStat[k as keyof typeof AcceptStat] === reply.stat)!);
        continue;
      }
      ok(header.kind === 'call' && header.prog === MOUNT_PROG, `${what}: SUCCESS for another program`);
      const { proc, vers } = header;
      if (proc === MountProc.MNT) {
        equal(vers, 3, `${what}: MNT over version ${vers}`);
        const status = checkMnt(reply.results, what);
        count(status === 0 ? 'MNT3_OK' : `MNT3ERR ${status}`);
      } else if (proc === MountProc.EXPORT || proc === MountProc.DUMP) {
        checkLists(reply.results, proc);
        count(proc === MountProc.EXPORT ? 'EXPORT' : 'DUMP');
      } else {
        reply.results.end('void result');
        count(['NULL', 'MNT', 'DUMP', 'UMNT', 'UMNTALL'][proc] ?? `proc ${proc}`);
      }
    }
    equal(errors.length, 0, `logged as errors:\n${errors.slice(0, 5).join('\n')}`);
  });
  t.diagnostic(
    [...outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
  );
  const growth = rss() - rssBefore;
  ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${Math.round(growth / 1e6)} MB`);
  ok(mounts.list().length <= 10_000, 'the mount table stays bounded');
  // The mutations reach every kind of answer, not only the header checks.
  for (const k of [
    'MNT3_OK',
    `MNT3ERR ${Mountstat3.ACCES}`,
    `MNT3ERR ${Mountstat3.NOENT}`,
    `MNT3ERR ${Mountstat3.NOTDIR}`,
    `MNT3ERR ${Mountstat3.INVAL}`,
    'GARBAGE_ARGS',
    'PROC_UNAVAIL',
    'EXPORT',
    'DUMP',
    'UMNT',
  ]) {
    ok((outcomes.get(k) ?? 0) > 0, `no ${k} among ${JSON.stringify([...outcomes])}`);
  }
  ok((outcomes.get('framing error (connection closed)') ?? 0) < CASES / 3, 'most calls get past the header');
});
