import { deepEqual, equal, ok } from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { SmbConnection } from '../../src/protocols/smb/connection.ts';
import { CIPHER } from '../../src/protocols/smb/constants.ts';
import { decrypt } from '../../src/protocols/smb/crypto/index.ts';

/** What a connection writes, frame by frame (the 4-byte transport header stripped). */
class RecordingSocket extends EventEmitter {
  readonly written: Buffer[] = [];
  private corked: Buffer[] = [];
  writableLength = 0;
  destroyed = false;
  remoteAddress = '127.0.0.1';
  localAddress = '127.0.0.1';
  localPort = 445;
  private isCorked = false;
  cork(): void {
    this.isCorked = true;
  }
  uncork(): void {
    this.isCorked = false;
    const all = Buffer.concat(this.corked);
    this.corked = [];
    this.written.push(all.subarray(4));
  }
  /** A frame is one write (small ones) or the writes between cork and uncork (large ones). */
  write(b: Buffer, cb?: () => void): boolean {
    if (this.isCorked) this.corked.push(Buffer.from(b));
    else this.written.push(Buffer.from(b).subarray(4));
    cb?.();
    return true;
  }
  pause(): void {}
  resume(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

test('1 encrypted replies leave in the order they were sent: a large one sealed on a worker holds back a small one after it', async () => {
  const socket = new RecordingSocket();
  const registry = { info: { id: 1 }, bytes: () => {}, close: () => {} };
  const env = { log: { debug() {}, warn() {}, error() {}, info() {} } };
  const conn = new SmbConnection(env as never, socket as never, registry as never);
  const key = Buffer.alloc(16, 7);
  conn.cipher = CIPHER.AES128_GCM;
  conn.dialect = 0x0311;
  conn.sessions.set(5n, { encryptionKey: key } as never);
  const header = (n: number) => {
    const h = Buffer.alloc(64);
    h.writeUInt32LE(0x424d53fe, 0);
    h.writeUInt32LE(n, 24);
    return h;
  };
  // A READ reply with 1 MiB of payload in shared memory (as the namespace's read buffers are),
  // then a small reply: the first is sealed on a worker, the second at once.
  const payload = Buffer.from(new SharedArrayBuffer(1024 * 1024));
  payload.fill(0x5a);
  let released = 0;
  const send = (conn as unknown as { send(list: unknown[], enc: unknown): void }).send.bind(conn);
  send([{ header: header(1), body: [payload], release: () => released++ }], {
    encrypted: true,
    sessionId: 5n,
  });
  send([{ header: header(2), body: [Buffer.alloc(16, 1)] }], { encrypted: true, sessionId: 5n });
  equal(socket.written.length, 0, 'the small reply waits for the large one');
  for (let i = 0; socket.written.length < 2; i++) {
    ok(i < 500, 'both replies written');
    await new Promise((r) => setTimeout(r, 10));
  }
  const opened = socket.written.map((f) => decrypt('AES-128-GCM', () => key, f));
  deepEqual(
    opened.map((o) => ('plaintext' in o ? o.plaintext.readUInt32LE(24) : o.error)),
    [1, 2],
  );
  ok('plaintext' in opened[0]! && opened[0].plaintext.subarray(64).equals(payload));
  equal(released, 1, 'the read buffer is given back once sealed');
});
