import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LocksRelease, LocksReport } from '@claudefs/api';
import pino from 'pino';
import { ConnectionRegistry } from '../../src/ops/connections.ts';
import { portmapGrantedCallback } from '../../src/protocols/nlm/callback.ts';
import {
  decodeRes,
  decodeTestArgs,
  decodeTestRes,
  encodeCancelArgs,
  encodeRes,
  type Nlm4Lock,
  Nlm4Stat,
  NlmProc,
} from '../../src/protocols/nlm/codec.ts';
import { RpcListener } from '../../src/protocols/rpc/listener.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { ROOT } from '../../src/storage/types.ts';
import { type NfsGateway, startNfsGateway } from '../nfs-mount/fixture.ts';
import { runCommand } from '../support/proc.ts';
import { signIn, trpc } from '../trpc/fixture.ts';
import { NlmTestClient } from './client.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

const SMB = { protocol: 'smb', key: 'smb:session-1:open-1', client: 'session-1' };

/**
 * A client's NLM service for the GRANTED callback: records what it is told and answers with
 * `answer` (NLM4_GRANTED: the client takes the lock; NLM4_DENIED: it no longer wants it).
 */
async function fakeClientNlm() {
  const granted: Array<{ cookie: Buffer; lock: Nlm4Lock; exclusive: boolean }> = [];
  const state = { answer: Nlm4Stat.GRANTED as number };
  const table = new Map([
    [
      NlmProc.GRANTED,
      {
        name: 'GRANTED',
        idempotent: true,
        async handle(call: { args: XdrReader }, reply: XdrWriter) {
          const a = decodeTestArgs(call.args);
          granted.push({ cookie: Buffer.from(a.cookie), lock: a.lock, exclusive: a.exclusive });
          encodeRes(reply, a.cookie, state.answer as 0);
        },
      },
    ],
  ]);
  const listener = new RpcListener({
    name: 'client NLM',
    host: '127.0.0.1',
    port: 0,
    protocol: 'nfs',
    connections: new ConnectionRegistry(100),
    log: pino({ level: 'silent' }),
    programs: [
      {
        program: {
          prog: 100021,
          name: 'NLM',
          low: 4,
          high: 4,
          procedures: (v) => (v === 4 ? table : undefined),
          acceptsFlavor: () => true,
        },
      },
    ],
  });
  await listener.listen();
  return { listener, granted, state };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('NLM v4 and NSM over the NFS port, on the lock table SMB shares', () => {
  let g: NfsGateway;
  let client: Awaited<ReturnType<typeof fakeClientNlm>>;
  let nlm: NlmTestClient;
  let fh: Buffer;
  let ino: bigint;

  before(async () => {
    client = await fakeClientNlm();
    const log = pino({ level: 'silent' });
    g = await startNfsGateway({
      server: { grantedCallback: portmapGrantedCallback(log, { nlmPort: async () => client.listener.port }) },
      exports: ['{ path: /export }', '{ path: /private, clients: [10.0.0.0/8] }'],
    });
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    const file = await g.gw.ns.create(ROOT, exp.ino, 'locked.bin', 0o666);
    ino = file.ino;
    fh = g.handles.encodeHandle(0, file);
    nlm = await NlmTestClient.connect(g.nfsPort);
  });
  after(async () => {
    nlm?.close();
    await g?.stop();
    await client?.listener.close(100);
  });
  beforeEach(() => {
    for (const l of g.gw.ns.locks.list()) g.gw.ns.locks.unlock(l.ino, l.offset, l.length, l.owner.key);
    client.granted.length = 0;
    client.state.answer = Nlm4Stat.GRANTED;
  });

  const lockOf = (svid: number, offset: bigint, length: bigint, caller = 'client-a'): Nlm4Lock => ({
    callerName: caller,
    fh,
    oh: Buffer.from(`owner-${svid}`),
    svid,
    offset,
    length,
  });
  const call = (proc: number, args: Buffer, prog?: number, vers?: number) => nlm.call(proc, args, prog, vers);
  const lock = (l: Nlm4Lock, exclusive = true, block = false, cookie?: Buffer) =>
    nlm.lock(l, exclusive, block, cookie);
  const unlock = (l: Nlm4Lock) => nlm.unlock(l);
  const testLock = async (l: Nlm4Lock, exclusive = true) => {
    const w = new XdrWriter().opaque(Buffer.from('t')).bool(exclusive);
    w.opaque(Buffer.from(l.callerName))
      .opaque(l.fh)
      .opaque(l.oh)
      .int32(l.svid)
      .uint64(l.offset)
      .uint64(l.length);
    return decodeTestRes(await call(NlmProc.TEST, w.toBuffer()));
  };
  const smbLock = (offset: bigint, length: bigint, exclusive = true) =>
    g.gw.ns.locks.lock({ ino, offset, length, exclusive, owner: SMB }).granted;

  test('1 an NLM lock blocks a conflicting SMB lock; TEST names the holder; UNLOCK lets SMB in', async () => {
    const r = await lock(lockOf(7, 0n, 100n));
    deepEqual(r, { cookie: Buffer.from('c1'), stat: Nlm4Stat.GRANTED });
    equal(smbLock(50n, 10n), false);
    equal(smbLock(100n, 10n), true);
    const t = await testLock(lockOf(8, 10n, 1n));
    equal(t.stat, Nlm4Stat.DENIED);
    deepEqual(t.holder, { exclusive: true, svid: 7, oh: Buffer.from('owner-7'), offset: 0n, length: 100n });
    equal(
      (await testLock(lockOf(7, 10n, 1n))).stat,
      Nlm4Stat.GRANTED,
      'the holder itself is not in conflict',
    );
    deepEqual(await unlock(lockOf(7, 0n, 100n)), { cookie: Buffer.from('u'), stat: Nlm4Stat.GRANTED });
    equal(smbLock(50n, 10n), true);
    const owner = g.gw.ns.locks.list().find((l) => l.owner.protocol === 'nfs');
    equal(owner, undefined);
  });

  test('2 an SMB lock denies a conflicting NLM lock (TEST: svid 0, no oh); shared locks coexist', async () => {
    ok(smbLock(0n, 10n, false));
    equal((await lock(lockOf(1, 5n, 1n))).stat, Nlm4Stat.DENIED);
    const t = await testLock(lockOf(1, 5n, 1n));
    deepEqual(t.holder, { exclusive: false, svid: 0, oh: Buffer.alloc(0), offset: 0n, length: 10n });
    equal((await lock(lockOf(1, 5n, 1n), false)).stat, Nlm4Stat.GRANTED);
  });

  test('3 a blocking lock is NLM4_BLOCKED, then granted by callback when the SMB lock goes', async () => {
    ok(smbLock(0n, 0n));
    const cookie = Buffer.from('blocked-cookie');
    equal((await lock(lockOf(2, 0n, 10n), true, true, cookie)).stat, Nlm4Stat.BLOCKED);
    equal(client.granted.length, 0);
    g.gw.ns.locks.unlock(ino, 0n, 0n, SMB.key);
    await until('the GRANTED callback', () => client.granted.length === 1);
    deepEqual(client.granted[0]!.cookie, cookie);
    equal(client.granted[0]!.lock.svid, 2);
    equal(client.granted[0]!.exclusive, true);
    ok(g.gw.ns.locks.list().some((l) => l.owner.key.startsWith('client-a:2:')));
    equal(smbLock(0n, 1n), false);
  });

  test('4 a client that answers the callback with DENIED does not keep the lock; CANCEL stops the wait', async () => {
    client.state.answer = Nlm4Stat.DENIED;
    ok(smbLock(0n, 10n));
    equal((await lock(lockOf(3, 0n, 10n), true, true)).stat, Nlm4Stat.BLOCKED);
    g.gw.ns.locks.unlock(ino, 0n, 10n, SMB.key);
    await until('the refused callback', () => client.granted.length === 1);
    await until('the release', () => !g.gw.ns.locks.list().some((l) => l.owner.protocol === 'nfs'));

    client.state.answer = Nlm4Stat.GRANTED;
    ok(smbLock(0n, 10n));
    equal((await lock(lockOf(4, 0n, 10n), true, true)).stat, Nlm4Stat.BLOCKED);
    const cancel = encodeCancelArgs({
      cookie: Buffer.from('x'),
      block: true,
      exclusive: true,
      lock: lockOf(4, 0n, 10n),
    });
    equal(decodeRes(await call(NlmProc.CANCEL, cancel)).stat, Nlm4Stat.GRANTED);
    g.gw.ns.locks.unlock(ino, 0n, 10n, SMB.key);
    await new Promise((r) => setTimeout(r, 200));
    equal(client.granted.length, 1);
    ok(!g.gw.ns.locks.list().some((l) => l.owner.protocol === 'nfs'));
  });

  test('5 POSIX ranges: unlocking the middle keeps both ends; upgrade and downgrade replace the mode', async () => {
    equal((await lock(lockOf(5, 0n, 100n))).stat, Nlm4Stat.GRANTED);
    await unlock(lockOf(5, 40n, 20n));
    equal(smbLock(45n, 5n), true);
    equal(smbLock(10n, 10n), false);
    equal(smbLock(70n, 10n), false);
    g.gw.ns.locks.unlock(ino, 45n, 5n, SMB.key);
    await unlock(lockOf(5, 0n, 0n));
    equal(g.gw.ns.locks.list().length, 0);

    equal((await lock(lockOf(6, 0n, 10n), false)).stat, Nlm4Stat.GRANTED);
    equal(smbLock(0n, 1n, false), true);
    g.gw.ns.locks.unlock(ino, 0n, 1n, SMB.key);
    equal((await lock(lockOf(6, 0n, 10n), true)).stat, Nlm4Stat.GRANTED);
    equal(smbLock(0n, 1n, false), false);
    equal((await lock(lockOf(6, 0n, 10n), false)).stat, Nlm4Stat.GRANTED);
    equal(smbLock(0n, 1n, false), true);
    equal(g.gw.ns.locks.list().filter((l) => l.owner.protocol === 'nfs').length, 1);
  });

  test('6 SM_NOTIFY (a client rebooted) and FREE_ALL release that client’s locks only', async () => {
    await lock(lockOf(1, 0n, 10n, 'host-x'));
    await lock(lockOf(2, 20n, 10n, 'host-x'));
    await lock(lockOf(3, 40n, 10n, 'host-y'));
    const notify = new XdrWriter().string('host-x').int32(5).toBuffer();
    await call(6, notify, 100024, 1);
    deepEqual(
      g.gw.ns.locks.list().map((l) => l.owner.client),
      ['host-y'],
    );
    await call(NlmProc.FREE_ALL, new XdrWriter().string('host-y').int32(7).toBuffer());
    equal(g.gw.ns.locks.list().length, 0);
  });

  test('7 NSM: SM_STAT and SM_MON answer stat_succ with an odd state; SM_UNMON and SM_UNMON_ALL answer the state', async () => {
    const stat = await call(1, new XdrWriter().string('host-x').toBuffer(), 100024, 1);
    equal(stat.uint32('res'), 0);
    const state = stat.int32('state');
    equal(state % 2, 1);
    const myId = (w: XdrWriter) => w.string('localhost').int32(100021).int32(4).int32(16);
    const mon = myId(new XdrWriter().string('host-x')).fixedOpaque(Buffer.alloc(16)).toBuffer();
    const r = await call(2, mon, 100024, 1);
    deepEqual([r.uint32('res'), r.int32('state')], [0, state]);
    equal(
      (await call(3, myId(new XdrWriter().string('host-x')).toBuffer(), 100024, 1)).int32('state'),
      state,
    );
    equal((await call(4, myId(new XdrWriter()).toBuffer(), 100024, 1)).int32('state'), state);
  });

  test('8 a handle that is forged or of a removed file: NLM4_STALE_FH; of an export not listing the client: NLM4_FAILED', async () => {
    const forged = Buffer.from(fh);
    forged[30] = forged[30]! ^ 1;
    equal((await lock({ ...lockOf(1, 0n, 1n), fh: forged })).stat, Nlm4Stat.STALE_FH);
    equal((await lock({ ...lockOf(1, 0n, 1n), fh: Buffer.from('short') })).stat, Nlm4Stat.STALE_FH);
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    const gone = await g.gw.ns.create(ROOT, exp.ino, 'gone.bin', 0o666);
    await g.gw.ns.remove(ROOT, exp.ino, 'gone.bin');
    equal(
      (await lock({ ...lockOf(1, 0n, 1n), fh: g.handles.encodeHandle(0, gone) })).stat,
      Nlm4Stat.STALE_FH,
    );
  });
  test("9 `./cfs locks` names an NFS client's locks and waiting requests; `./cfs locks release` frees a departed client's, audited", async () => {
    const cfs = (...args: string[]) =>
      runCommand(CFS, [...args, '--config', join(g.dir, 'gateway.yaml')], { timeoutMs: 60_000 });
    equal((await lock(lockOf(4, 0n, 100n, 'gone-host'))).stat, Nlm4Stat.GRANTED);
    ok(smbLock(200n, 10n));
    equal((await lock(lockOf(5, 200n, 1n, 'gone-host'), true, true)).stat, Nlm4Stat.BLOCKED);

    const listed = await cfs('locks', '--json');
    equal(listed.code, 0, listed.output);
    const report = JSON.parse(listed.stdout) as LocksReport;
    deepEqual(
      report.locks.map((l) => [l.protocol, l.holder, l.exclusive, l.offset, l.length, l.ino]),
      [
        ['nfs', 'gone-host', true, '0', '100', ino.toString()],
        ['smb', 'session-1', true, '200', '10', ino.toString()],
      ],
    );
    equal(report.waiting, 1);
    const table = await cfs('locks');
    match(table.stdout, /NFS\s+gone-host\s+WRITE\s+0\s+100\s+inode \d+/);
    match(table.stdout, /1 NFS lock request waiting for a conflicting lock/);
    match(table.stdout, /\.\/cfs locks release HOLDER/);

    equal(smbLock(50n, 10n), false, 'the NFS lock holds SMB off');
    const released = await cfs('locks', 'release', 'gone-host');
    equal(released.code, 0, released.output);
    match(released.stdout, /Released 1 lock of NFS client gone-host/);
    equal(smbLock(50n, 10n), true, 'released: SMB gets the range');
    g.gw.ns.locks.unlock(ino, 200n, 10n, SMB.key);
    await new Promise((r) => setTimeout(r, 200));
    equal(client.granted.length, 0, 'the waiting request was dropped too: no GRANTED callback');
    ok(!g.gw.ns.locks.list().some((l) => l.owner.client === 'gone-host'));

    const again = await cfs('locks', 'release', 'gone-host');
    equal(again.code, 1);
    match(again.stderr, /gone-host holds no lock here and waits for none/);
    const nameless = await cfs('locks', 'release');
    equal(nameless.code, 2);
    match(nameless.stderr, /name the NFS client/);
    const audit = await g.gw.control.audit.list({ action: 'locks.release' });
    deepEqual(audit.map((e) => [e.target, e.outcome]).reverse(), [
      ['nfs-client:gone-host', 'ok'],
      ['nfs-client:gone-host', 'error'],
    ]);
  });
  test('10 the console API: a viewer sees the locks and may not release; an operator releases, audited under their name', async () => {
    const base = `http://127.0.0.1:${g.gw.config.health.bind.port}`;
    await g.gw.control.users.add({ name: 'olivia', role: 'operator', password: 'olivia-Operator-pw-7' });
    await g.gw.control.users.add({ name: 'vera', role: 'viewer', password: 'vera-Viewer-pw-3' });
    const operator = await signIn(base, 'olivia', 'olivia-Operator-pw-7');
    const viewer = await signIn(base, 'vera', 'vera-Viewer-pw-3');
    equal((await lock(lockOf(6, 0n, 0n, 'lost-laptop'), false)).stat, Nlm4Stat.GRANTED);

    const seen = await trpc<LocksReport>(base, 'query', 'connections.locks', undefined, { cookie: viewer });
    equal(seen.status, 200, seen.error?.message);
    deepEqual(
      seen.data.locks.map((l) => [l.protocol, l.holder, l.exclusive, l.length]),
      [['nfs', 'lost-laptop', false, 'to end']],
    );
    const refused = await trpc(
      base,
      'mutation',
      'connections.releaseLocks',
      { client: 'lost-laptop' },
      { cookie: viewer },
    );
    equal(refused.error?.data.code, 'FORBIDDEN');
    equal(g.gw.ns.locks.list().length, 1, 'a refused release changes nothing');

    const done = await trpc<LocksRelease>(
      base,
      'mutation',
      'connections.releaseLocks',
      { client: 'lost-laptop' },
      { cookie: operator },
    );
    equal(done.status, 200, done.error?.message);
    deepEqual(done.data, { client: 'lost-laptop', released: 1 });
    equal(g.gw.ns.locks.list().length, 0);
    const none = await trpc(
      base,
      'mutation',
      'connections.releaseLocks',
      { client: 'lost-laptop' },
      { cookie: operator },
    );
    equal(none.error?.data.code, 'NOT_FOUND');
    match(none.error?.message ?? '', /lost-laptop holds no lock here/);
    const audit = await g.gw.control.audit.list({
      action: 'locks.release',
      target: 'nfs-client:lost-laptop',
    });
    deepEqual(audit.map((e) => [e.actor, e.outcome]).reverse(), [
      ['console:vera', 'denied'],
      ['console:olivia', 'ok'],
      ['console:olivia', 'error'],
    ]);
  });
});
