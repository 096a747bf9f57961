// Large messages read straight into their own buffers (util/read-buffer-socket.ts `setReadTarget`,
// util/arriving.ts `readTarget`), over a real loopback socket: ONC RPC records and SMB frames come
// out intact whatever the TCP reads cut, and the bytes of a large one land in its buffer instead
// of being copied there from the socket's read buffer.
import { equal, ok } from 'node:assert/strict';
import { connect, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { RecordDecoder } from '../../src/protocols/rpc/record.ts';
import { FramePool, FrameReader, frameHeader } from '../../src/protocols/smb/framing.ts';
import { createReadBufferServer, setReadTarget } from '../../src/util/read-buffer-socket.ts';

let seed = 11;
function bytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    b[i] = seed >>> 16;
  }
  return b;
}

/** What a server saw: the messages in order, and how many bytes arrived in their own memory. */
interface Seen {
  messages: Buffer[];
  inPlace: number;
}

/**
 * A read-buffer server whose sockets feed `decoder` (set up per connection by `make`); resolves
 * once the client's stream ended. The client writes `wire` in pieces of the sizes given (with a
 * pause between them, so the server's reads end where the pieces do).
 */
async function serve(
  make: (socket: Socket, seen: Seen, memory: Set<ArrayBufferLike>) => (chunk: Buffer) => void,
  wire: Buffer,
  pieces: number[],
): Promise<Seen> {
  const seen: Seen = { messages: [], inPlace: 0 };
  const memory = new Set<ArrayBufferLike>();
  let server: Server | undefined;
  const done = new Promise<void>((resolve) => {
    server = createReadBufferServer({}, (socket) => {
      const feed = make(socket, seen, memory);
      socket.on('data', (chunk: Buffer) => {
        if (memory.has(chunk.buffer)) seen.inPlace += chunk.length;
        feed(chunk);
      });
      socket.on('end', () => {
        socket.end();
        resolve();
      });
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server!.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  let at = 0;
  for (const n of pieces) {
    client.write(wire.subarray(at, at + n));
    at += n;
    await new Promise((r) => setTimeout(r, 5));
  }
  client.end(wire.subarray(at));
  await done;
  server!.close();
  return seen;
}

test('1 RPC records: whole and intact across any cut; a large fragment is read into its own buffer', async () => {
  // A small call, a 1 MiB record, one of two 300 KiB fragments, and a 100 KiB record whose last
  // 10 KiB (under the read-target minimum) come together with the next record.
  const records = [bytes(120), bytes(1 << 20), bytes(600 * 1024), bytes(100 * 1024), bytes(64)];
  const wire: Buffer[] = [];
  const mark = (n: number, last: boolean) => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(((last ? 0x8000_0000 : 0) | n) >>> 0);
    return h;
  };
  for (const [i, r] of records.entries()) {
    if (i === 2) wire.push(mark(r.length / 2, false), r.subarray(0, r.length / 2), mark(r.length / 2, true));
    else wire.push(mark(r.length, true));
    wire.push(i === 2 ? r.subarray(r.length / 2) : r);
  }
  const stream = Buffer.concat(wire);
  // Cuts: mid-header, 70 KiB into the large record (past the fill-as-arriving size), then on.
  const pieces = [2, 122 + 2 + 70 * 1024, 300 * 1024, 700 * 1024, 90 * 1024 + 4, 310 * 1024];
  const seen = await serve(
    (socket, s, memory) => {
      const d = new RecordDecoder(4 << 20, (n) => {
        const b = Buffer.allocUnsafe(n);
        memory.add(b.buffer);
        return b;
      });
      setReadTarget(socket, () => d.readTarget());
      return (chunk) => {
        d.push(chunk);
        for (let r = d.next(); r; r = d.next()) s.messages.push(r);
        d.settle();
      };
    },
    stream,
    pieces,
  );
  equal(seen.messages.length, records.length);
  for (const [i, r] of records.entries()) ok(seen.messages[i]!.equals(r), `record ${i} intact`);
  // Past the read that starts each large fragment (at most the socket's 256 KiB buffer), bytes
  // go straight in, less the short tails.
  const large = (1 << 20) + 600 * 1024 + 100 * 1024;
  ok(
    seen.inPlace >= large - 4 * 256 * 1024 - 4 * 16 * 1024,
    `${seen.inPlace} of ${large} bytes read in place`,
  );
});

test('2 SMB frames: whole and intact across any cut; a large frame is read into its pooled buffer', async () => {
  const frames = [bytes(70), bytes(8 << 20), bytes(200 * 1024), bytes(9), bytes(3 << 20)];
  const stream = Buffer.concat(frames.flatMap((f) => [frameHeader(f.length), f]));
  const pieces = [3, 71 + 4 + 65 * 1024, 2 << 20, 3 << 20, 3 << 20];
  const seen = await serve(
    (socket, s, memory) => {
      const pool = new (class extends FramePool {
        override get(n: number): Buffer {
          const b = super.get(n);
          memory.add(b.buffer);
          return b;
        }
      })(8 << 20, 2, 64 * 1024);
      const r = new FrameReader(8 << 20, pool);
      setReadTarget(socket, () => r.readTarget());
      return (chunk) => {
        for (const f of r.push(chunk)) {
          // A copy before the slab goes back to the pool (as a request's end gives it back).
          s.messages.push(Buffer.from(f));
          pool.release(f);
        }
      };
    },
    stream,
    pieces,
  );
  equal(seen.messages.length, frames.length);
  for (const [i, f] of frames.entries()) ok(seen.messages[i]!.equals(f), `frame ${i} intact`);
  const large = (8 << 20) + 200 * 1024 + (3 << 20);
  ok(
    seen.inPlace >= large - 3 * 256 * 1024 - 3 * 16 * 1024,
    `${seen.inPlace} of ${large} bytes read in place`,
  );
});
