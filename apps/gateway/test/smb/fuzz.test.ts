import { equal, ok } from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { appendFileSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { ProtocolContext } from '../../src/daemon/protocol-server.ts';
import { SmbConnection } from '../../src/protocols/smb/connection.ts';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { frameHeader } from '../../src/protocols/smb/framing.ts';
import { SmbServer } from '../../src/protocols/smb/server.ts';
import { Session } from '../../src/protocols/smb/session.ts';
import { findShare, TreeConnect } from '../../src/protocols/smb/tree.ts';
import { ROOT } from '../../src/storage/types.ts';
import { fuzzCases, fuzzSeed, fuzzTimeoutMs, Rng, runFuzz } from '../support/fuzz.ts';
import { createBody, TestClient } from './client.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';

/** How many mutated frames: 20,000 in CI, times FUZZ_CASES_SCALE. */
const FRAMES = fuzzCases(20_000);
/** A frame that has not finished after this long counts as a hang. */
// A hang detector, not a timing assertion: generous, since CI shares two cores with everything else.
const FRAME_DEADLINE_MS = 15_000;

/** Captured from smbclient (test/smb/golden) and built by the test client: every command. */
function goldenFrames(): Buffer[] {
  const recorded = JSON.parse(
    readFileSync(new URL('./golden/smbclient-frames.json', import.meta.url), 'utf8'),
  ) as {
    frames: Array<{ hex: string }>;
  };
  const out: Buffer[] = recorded.frames.map((f) => Buffer.from(f.hex, 'hex'));
  const c = new TestClient(0);
  const body = (cmd: number, b: Buffer) => c.build({ command: cmd, body: b }).msg;
  const fixed = (size: number, bytes: number) => {
    const b = Buffer.alloc(bytes);
    b.writeUInt16LE(size, 0);
    return b;
  };
  out.push(body(CMD.CREATE, createBody('fuzz\\a.txt', { disposition: 5, contexts: Buffer.alloc(0) })));
  out.push(body(CMD.LOCK, Buffer.concat([fixed(48, 24), Buffer.alloc(24)])));
  out.push(body(CMD.CHANGE_NOTIFY, fixed(32, 32)));
  out.push(body(CMD.QUERY_DIRECTORY, Buffer.concat([fixed(33, 32), Buffer.from('*', 'utf16le')])));
  out.push(body(CMD.SET_INFO, Buffer.concat([fixed(33, 32), Buffer.alloc(40)])));
  out.push(body(CMD.IOCTL, Buffer.concat([fixed(57, 56), Buffer.alloc(24)])));
  out.push(body(CMD.OPLOCK_BREAK, fixed(24, 24)));
  out.push(body(CMD.CANCEL, fixed(4, 4)));
  return out;
}

/** Where each command's FileId sits in its body (MS-SMB2 §2.2). */
const FILE_ID_AT: Record<number, number> = {
  [CMD.CLOSE]: 8,
  [CMD.FLUSH]: 8,
  [CMD.READ]: 16,
  [CMD.WRITE]: 16,
  [CMD.LOCK]: 8,
  [CMD.IOCTL]: 8,
  [CMD.QUERY_DIRECTORY]: 8,
  [CMD.CHANGE_NOTIFY]: 8,
  [CMD.QUERY_INFO]: 24,
  [CMD.SET_INFO]: 16,
};

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 64, 65, 4096];

/** One random mutation: bit flips, byte and integer overwrites, truncation, extension, splices. */
function mutate(r: Rng, frame: Buffer, all: Buffer[]): Buffer {
  let b = Buffer.from(frame);
  const n = 1 + r.below(3);
  for (let i = 0; i < n; i++) {
    const kind = r.below(7);
    const at = r.below(b.length);
    switch (kind) {
      case 0:
        if (b.length) b[at] = b[at]! ^ (1 << r.below(8));
        break;
      case 1:
        if (b.length) b[at] = r.below(256);
        break;
      case 2: {
        const v = r.pick(INTERESTING);
        if (at + 4 <= b.length) b.writeUInt32LE(v >>> 0, at);
        else if (at + 2 <= b.length) b.writeUInt16LE(v & 0xffff, at);
        break;
      }
      case 3:
        b = b.subarray(0, r.below(b.length + 1));
        break;
      case 4:
        b = Buffer.concat([b, Buffer.alloc(1 + r.below(63), r.below(256))]);
        break;
      case 5: {
        // A header field the server reads first: command, credits, flags, NextCommand, ids.
        const field = r.pick([12, 14, 16, 20, 24, 32, 36, 40]);
        if (field + 4 <= b.length) b.writeUInt32LE(r.pick(INTERESTING) >>> 0, field);
        break;
      }
      default: {
        const other = r.pick(all);
        b = Buffer.concat([b.subarray(0, at), other.subarray(r.below(other.length))]);
      }
    }
  }
  return b;
}

/** A socket the connection can use without a network: writes are counted, reads are pushed in. */
class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  localAddress = '127.0.0.1';
  localPort = 445;
  destroyed = false;
  writableLength = 0;
  written = 0;
  write(b: Buffer): boolean {
    this.written += b.length;
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      setImmediate(() => this.emit('close'));
    }
    return this;
  }
}

describe('SMB fuzz: mutated golden frames', () => {
  let g: SmbGateway;
  let server: SmbServer;
  const unexpected: string[] = [];

  before(async () => {
    g = await startSmbGateway();
    const u = await g.user('fuzzer', 'Fuzz-frames1');
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    await g.gw.ns.mkdir({ uid: u.uid, gid: u.gid, gids: [] }, exp.ino, 'fuzz', 0o755);
    // A server of its own whose error log is captured: an unexpected failure is a finding.
    const log = pino(
      { level: process.env.SMB_FUZZ_DEBUG ? 'debug' : 'error' },
      {
        write: (line: string) => {
          if (process.env.SMB_FUZZ_DEBUG) appendFileSync(process.env.SMB_FUZZ_DEBUG, line);
          else unexpected.push(line);
        },
      },
    );
    const ctx: ProtocolContext = {
      config: g.gw.config,
      ns: g.gw.ns,
      control: g.gw.control,
      connections: g.gw.connections,
      log,
      tls: { current: () => undefined, onChange: () => () => {} },
    };
    server = new SmbServer(ctx);
  });
  after(() => g?.stop());

  /** A connection that negotiated 3.0 and holds a valid session and tree (no signing): the fuzz target. */
  async function target(
    negotiate: Buffer,
  ): Promise<{ conn: SmbConnection; socket: FakeSocket; mid: bigint }> {
    const socket = new FakeSocket();
    const reg = g.gw.connections.accept('smb', '127.0.0.1', 40000, 445)!;
    const conn = new SmbConnection(server.env, socket as unknown as Socket, reg);
    socket.emit('data', Buffer.concat([frameHeader(negotiate.length), negotiate]));
    await settle(conn, socket);
    const session = new Session(1n, 'smb:fuzz:1');
    session.state = 'valid';
    session.user = { name: 'fuzzer', domain: 'CLAUDEFS', uid: 3000, gid: 3000, gids: [] };
    session.cred = { uid: 3000, gid: 3000, gids: [] };
    conn.sessions.set(1n, session);
    return { conn, socket, mid: 1n };
  }

  async function settle(conn: SmbConnection, socket: FakeSocket, what = 'NEGOTIATE'): Promise<void> {
    const deadline = Date.now() + FRAME_DEADLINE_MS;
    await new Promise((r) => setImmediate(r));
    while (!socket.destroyed && conn.busy > 0) {
      // Requests that legitimately wait (CHANGE_NOTIFY, blocking LOCK) are async: they do not hold the frame.
      if (Date.now() > deadline)
        throw new Error(`a frame did not finish in ${FRAME_DEADLINE_MS} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  test(`1 ${FRAMES} mutated frames: no crash, no hang, no unexpected error, bounded memory; the server still answers`, {
    timeout: fuzzTimeoutMs(600_000),
  }, async () => {
    const seed = fuzzSeed('smb frames');
    const r = new Rng(seed);
    const golden = goldenFrames();
    const negotiate = new TestClient(0).build({
      command: CMD.NEGOTIATE,
      body: (() => {
        const b = Buffer.alloc(38);
        b.writeUInt16LE(36, 0);
        b.writeUInt16LE(1, 2);
        b.writeUInt16LE(0x0300, 36);
        return b;
      })(),
    }).msg;
    const heapBefore = process.memoryUsage().heapUsed;
    let t = await target(negotiate);
    const tree = new TreeConnect(
      1,
      t.conn.sessions.get(1n)!,
      findShare(server.env.shares(), '\\\\x\\export')!,
      (await g.gw.ns.resolvePath(ROOT, '/export')).ino,
    );
    let closes = 0;
    let answered = 0;
    await runFuzz('SMB2 frames', FRAMES, async () => {
      for (let i = 0; i < FRAMES; i++) {
        if (t.socket.destroyed) {
          closes++;
          t = await target(negotiate);
        }
        const session = t.conn.sessions.get(1n);
        if (session && !session.trees.has(1))
          session.trees.set(1, Object.assign(Object.create(TreeConnect.prototype), tree, { session }));
        const base = r.pick(golden);
        const m = Buffer.from(base);
        // Most frames speak for the injected session and tree, with a fresh message id and no signature.
        if (m.length >= 64 && m.readUInt32LE(0) === 0x424d53fe && r.below(10) > 0) {
          m.writeUInt32LE(m.readUInt32LE(16) & ~0x8, 16);
          m.writeBigUInt64LE(t.mid++, 24);
          m.writeUInt16LE(8, 14);
          m.writeUInt32LE(1, 36);
          m.writeBigUInt64LE(1n, 40);
          m.writeUInt16LE(1, 6);
          // Half the time, aim at a handle that is really open (CREATEs among the frames make some).
          const at = FILE_ID_AT[m.readUInt16LE(12)];
          const opens = [...(t.conn.sessions.get(1n)?.opens.values() ?? [])];
          if (at !== undefined && opens.length > 0 && r.chance(2) && m.length >= 64 + at + 16) {
            const o = r.pick(opens);
            m.writeBigUInt64LE(o.fileId.persistent, 64 + at);
            m.writeBigUInt64LE(o.fileId.volatile, 64 + at + 8);
          }
        }
        const frame = mutate(r, m, golden);
        const wire = frame.length > 0xffffff ? frame.subarray(0, 0xffffff) : frame;
        const before = t.socket.written;
        t.socket.emit('data', Buffer.concat([frameHeader(wire.length), wire]));
        await settle(
          t.conn,
          t.socket,
          `frame ${i} (FUZZ_SEED=${seed}) ${wire.toString('hex').slice(0, 512)}`,
        );
        if (t.socket.written > before) answered++;
      }
      await t.conn.close('fuzz done');
      equal(unexpected.length, 0, `unexpected failures:\n${unexpected.slice(0, 5).join('\n')}`);
    });
    const growth = process.memoryUsage().heapUsed - heapBefore;
    ok(growth < 256 * 1024 * 1024, `heap grew by ${Math.round(growth / 1e6)} MB`);
    ok(closes > 0, 'some mutations were framing errors that closed the connection');
    // Most mutations must reach the command decoders and handlers, not just the framing checks.
    ok(answered > FRAMES / 3, `only ${answered} of ${FRAMES} frames got a reply (${closes} closes)`);
    // The real listener still negotiates.
    const c = new TestClient(g.port);
    await c.connect();
    equal((await c.negotiate()).status, 0);
    c.close();
  });
});
