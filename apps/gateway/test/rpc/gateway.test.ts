import { deepEqual, equal, match, ok } from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat, AuthStat } from '../../src/protocols/rpc/constants.ts';
import { decodeReply, encodeCall, type RpcReply } from '../../src/protocols/rpc/message.ts';
import { frameRecord } from '../../src/protocols/rpc/record.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { type NfsGateway, startNfsGateway } from '../nfs-mount/fixture.ts';
import { freePort } from '../support/ports.ts';
import { callRecord, RawClient, SYS_CRED, u32 } from './helpers.ts';

async function one(port: number, record: Buffer): Promise<RpcReply> {
  const c = await RawClient.connect(port);
  try {
    c.send(record);
    return decodeReply((await c.read(1))[0]!);
  } finally {
    c.close();
  }
}

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('the NFS server in a gateway: RPC replies, connections, drain, stop', () => {
  let g: NfsGateway;
  const ops: Array<[string, string | undefined]> = [];
  before(async () => {
    g = await startNfsGateway();
    g.gw.connections.observers.push({ request: (_p, op, _s, code) => ops.push([op, code]) });
  });
  after(() => g?.stop());

  test('1 status errors are replies: RPC_MISMATCH, PROG_UNAVAIL, PROG_MISMATCH 3..3, PROC_UNAVAIL, GARBAGE_ARGS, AUTH_BADCRED', async () => {
    const p = g.nfsPort;
    const v3 = encodeCall({ xid: 1, prog: 100003, vers: 3, proc: 0 });
    v3.writeUInt32BE(3, 8);
    deepEqual(await one(p, frameRecord(v3)), { xid: 1, status: 'rpc-mismatch', low: 2, high: 2 });
    const r2 = await one(p, callRecord({ xid: 2, prog: 100005, vers: 3, proc: 0 }));
    equal(r2.status === 'accepted' && r2.stat, AcceptStat.PROG_UNAVAIL);
    const r3 = await one(p, callRecord({ xid: 3, prog: 100003, vers: 2, proc: 0 }));
    deepEqual(r3.status === 'accepted' && [r3.stat, r3.mismatch], [
      AcceptStat.PROG_MISMATCH,
      { low: 3, high: 3 },
    ]);
    const r4 = await one(p, callRecord({ xid: 4, prog: 100003, vers: 3, proc: 99, cred: SYS_CRED }));
    equal(r4.status === 'accepted' && r4.stat, AcceptStat.PROC_UNAVAIL);
    // GETATTR whose handle announces 40 bytes and carries 8.
    const r5 = await one(
      p,
      callRecord({ xid: 5, prog: 100003, vers: 3, proc: 1, cred: SYS_CRED, args: u32(40, 1, 2) }),
    );
    equal(r5.status === 'accepted' && r5.stat, AcceptStat.GARBAGE_ARGS);
    const cred17 = { ...SYS_CRED, gids: Array.from({ length: 17 }, (_, i) => i + 1) };
    deepEqual(await one(p, callRecord({ xid: 6, prog: 100003, vers: 3, proc: 0, cred: cred17 })), {
      xid: 6,
      status: 'auth-error',
      authStat: AuthStat.AUTH_BADCRED,
    });
    const r7 = await one(p, callRecord({ xid: 7, prog: 100021, vers: 1, proc: 0 }));
    deepEqual(r7.status === 'accepted' && r7.mismatch, { low: 4, high: 4 });
    // A bad handle is an NFS status, answered by the program and named in the metrics.
    const bad = new XdrWriter().opaque(Buffer.alloc(40)).toBuffer();
    const r8 = await one(
      p,
      callRecord({ xid: 8, prog: 100003, vers: 3, proc: 1, cred: SYS_CRED, args: bad }),
    );
    equal(r8.status === 'accepted' && r8.stat, AcceptStat.SUCCESS);
    for (const want of [
      ['RPC', 'RPC_MISMATCH'],
      ['RPC', 'PROG_UNAVAIL'],
      ['RPC', 'PROG_MISMATCH'],
      ['RPC', 'PROC_UNAVAIL'],
      ['GETATTR', 'GARBAGE_ARGS'],
      ['RPC', 'AUTH_BADCRED'],
    ]) {
      ok(
        ops.some(([op, code]) => op === want[0] && code === want[1]),
        `${want} in ${JSON.stringify(ops)}`,
      );
    }
    ok(
      ops.some(([op, code]) => op === 'GETATTR' && /^NFS3ERR_(BADHANDLE|STALE)$/.test(code ?? '')),
      JSON.stringify(ops),
    );
  });

  test('2 a fragment header announcing 1 GiB closes that connection; the gateway serves others', async () => {
    const bystander = await RawClient.connect(g.nfsPort);
    const c = await RawClient.connect(g.nfsPort);
    c.send(u32(0x8000_0000 | (1 << 30)));
    ok(await c.waitClosed());
    bystander.send(callRecord({ xid: 10, prog: 100003, vers: 3, proc: 0 }));
    const r = decodeReply((await bystander.read(1))[0]!);
    equal(r.status === 'accepted' && r.stat, AcceptStat.SUCCESS);
    bystander.close();
  });

  test('3 connections are registered with address and uid; the health check NULL-calls NFS and MOUNT', async () => {
    const c = await RawClient.connect(g.mountPort);
    c.send(
      callRecord({ xid: 11, prog: 100005, vers: 3, proc: 0, cred: { ...SYS_CRED, uid: 1234, gid: 55 } }),
    );
    await c.read(1);
    const info = g.gw.connections.list().find((i) => i.remotePort === c.socket.localPort);
    equal(info?.protocol, 'nfs');
    equal(info?.remoteAddress, '127.0.0.1');
    equal(info?.uid, 1234);
    equal(info?.localPort, g.mountPort);
    c.close();
    const check = g.server.healthCheck();
    equal(check.name, 'nfs');
    equal(await check.run(), undefined);
  });

  test('4 drain: both listeners stop accepting, an open connection keeps being served; then resume', async () => {
    const open = await RawClient.connect(g.nfsPort);
    g.server.setAccepting(false);
    await new Promise((r) => setTimeout(r, 100));
    ok(await connectRefused(g.nfsPort));
    ok(await connectRefused(g.mountPort));
    open.send(callRecord({ xid: 12, prog: 100003, vers: 3, proc: 0 }));
    equal(decodeReply((await open.read(1))[0]!).xid, 12);
    const during = await g.server.healthCheck().run();
    deepEqual(during, { status: 'degraded', message: 'not accepting connections (drain)' });
    g.server.setAccepting(true);
    await new Promise((r) => setTimeout(r, 100));
    const r = await one(g.mountPort, callRecord({ xid: 13, prog: 100005, vers: 3, proc: 0 }));
    equal(r.xid, 13);
    open.close();
  });

  test('5 stop() does not wait for idle connections and closes them', async () => {
    const idle = await RawClient.connect(g.nfsPort);
    const started = performance.now();
    await g.server.stop();
    ok(performance.now() - started < 2000, `stop took ${performance.now() - started} ms`);
    ok(await idle.waitClosed(3000));
    ok(await connectRefused(g.nfsPort));
  });
});

test('6 at the connection limit a new connection is closed at once', async () => {
  const g = await startNfsGateway({ extraYaml: 'limits: { max_connections: 2 }' });
  try {
    const a = await RawClient.connect(g.nfsPort);
    const b = await RawClient.connect(g.nfsPort);
    await new Promise((r) => setTimeout(r, 100));
    const c = await RawClient.connect(g.nfsPort);
    ok(await c.waitClosed(3000));
    a.send(callRecord({ xid: 1, prog: 100003, vers: 3, proc: 0 }));
    equal(decodeReply((await a.read(1))[0]!).xid, 1);
    a.close();
    b.close();
  } finally {
    await g.stop();
  }
});

test('7 without rpcbind the gateway starts, logs once that clients must name ports, and serves', async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
  const closed = await freePort();
  const g = await startNfsGateway({ logger, server: { portmapper: { host: '127.0.0.1', port: closed } } });
  try {
    const notes = lines.filter((l) => l.includes('rpcbind not running'));
    equal(notes.length, 1);
    match(
      JSON.parse(notes[0]!).msg,
      new RegExp(
        `^rpcbind not running on 127\\.0\\.0\\.1:${closed}; NFS programs not registered \\(clients must name ports\\)$`,
      ),
    );
    const client = await RpcClient.connect('127.0.0.1', g.nfsPort);
    const r = await client.call({ prog: 100003, vers: 3, proc: 0 });
    client.close();
    equal(r.status === 'accepted' && r.stat, AcceptStat.SUCCESS);
  } finally {
    await g.stop();
  }
});
