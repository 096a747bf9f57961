import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { loopTimeout } from '../../util/loop-stalls.ts';
import { CMD, DIALECT } from './constants.ts';
import { frameHeader } from './framing.ts';
import { SMB2_MAGIC } from './header.ts';

/** An SMB2 NEGOTIATE offering 2.0.2, 2.1 and 3.0 (no 3.1.1: no contexts needed). */
export function negotiateRequest(): Buffer {
  const dialects = [DIALECT.SMB202, DIALECT.SMB21, DIALECT.SMB30];
  const m = Buffer.alloc(64 + 36 + 2 * dialects.length);
  m.writeUInt32LE(SMB2_MAGIC, 0);
  m.writeUInt16LE(64, 4);
  m.writeUInt16LE(CMD.NEGOTIATE, 12);
  m.writeUInt16LE(1, 14);
  m.writeUInt16LE(36, 64);
  m.writeUInt16LE(dialects.length, 66);
  m.writeUInt16LE(1, 68);
  randomBytes(16).copy(m, 76);
  dialects.forEach((d, i) => {
    m.writeUInt16LE(d, 100 + 2 * i);
  });
  return m;
}

/**
 * Health probe: a real NEGOTIATE against the listener. Undefined when a NEGOTIATE response
 * with STATUS_SUCCESS comes back in time; otherwise what went wrong. `mark` sees the connected
 * socket before the request is sent (ConnectionRegistry.ownProbe) and returns what undoes it.
 */
export function probeNegotiate(
  host: string,
  port: number,
  timeoutMs: number,
  mark?: (socket: net.Socket) => () => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    let settled = false;
    let unmark: (() => void) | undefined;
    const finish = (problem: string | undefined) => {
      if (settled) return;
      settled = true;
      cancel();
      socket.destroy();
      unmark?.();
      resolve(problem);
    };
    const socket = net.connect({ host, port }, () => {
      unmark = mark?.(socket);
      const req = negotiateRequest();
      socket.write(Buffer.concat([frameHeader(req.length), req]));
    });
    const cancel = loopTimeout(timeoutMs, () => finish(`no NEGOTIATE response within ${timeoutMs} ms`));
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 4 + 64) return;
      const len = got.readUIntBE(1, 3);
      if (got.length < 4 + len) return;
      const m = got.subarray(4, 4 + len);
      if (m.readUInt32LE(0) !== SMB2_MAGIC || m.readUInt16LE(12) !== CMD.NEGOTIATE)
        return finish('not an SMB2 NEGOTIATE response');
      const status = m.readUInt32LE(8);
      finish(status === 0 ? undefined : `NEGOTIATE failed: 0x${status.toString(16)}`);
    });
    socket.on('error', (e) => finish(`SMB listener did not answer: ${e.message}`));
    socket.on('close', () => finish('connection closed before a NEGOTIATE response'));
  });
}
