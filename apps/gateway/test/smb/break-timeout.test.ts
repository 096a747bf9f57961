import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import { capturedLog } from '../support/log.ts';
import { runCommand } from '../support/proc.ts';
import {
  closeBody,
  connectedClient,
  createBody,
  createContexts,
  fileIdOf,
  type TestClient,
} from './client.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';
import {
  H,
  LEASE,
  leaseAck,
  leaseOf,
  leaseV2,
  nthBreakNotice,
  openBehindBreak,
  openLeased,
  oplockAck,
  R,
  SMB3,
  W,
} from './lease-wire.ts';

/**
 * `smb.break_timeout`: how long a client has to acknowledge an oplock or lease break before the
 * gateway takes its caching and lets the waiting open (or NFS/S3 request) go on. The raw test
 * client holds the caching and stays silent; 1 s here instead of the default 35 s. The timeout
 * counts only time the event loop ran: an acknowledgment that arrived while the process stood
 * still (a VM pause) is read before the timeout can run out.
 */
const TIMEOUT_MS = 1000;
const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const OPLOCK_BATCH = 0x09;
const OPLOCK_LEVEL_II = 0x01;

describe('SMB break timeout (smb.break_timeout: 1s)', () => {
  let g: SmbGateway;
  const cap = capturedLog();
  const clients: TestClient[] = [];
  before(async () => {
    g = await startSmbGateway({ smbExtra: `break_timeout: ${TIMEOUT_MS}ms`, log: cap.log, logLevel: 'info' });
    await g.user('alice', 'Wonder-land1');
  });
  after(async () => {
    for (const c of clients) c.close();
    await g?.stop();
  });
  async function session(): Promise<TestClient> {
    const c = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: SMB3 });
    clients.push(c);
    return c;
  }
  const unanswered = async () =>
    sampleValue(
      (await scrape(`http://127.0.0.1:${g.opsPort}`)).samples,
      'gateway_caching_breaks_unanswered_total',
      {},
    );
  const leasedOpen = (name: string, key: Buffer) => ({
    command: CMD.CREATE,
    body: createBody(name, {
      disposition: 1,
      oplock: LEASE,
      contexts: createContexts([leaseV2(key, R | W | H)]),
    }),
  });

  test('1 a lease break nobody acknowledges: the waiting open goes on after the timeout, the lease is taken, counted and logged; a late acknowledgment is refused', async () => {
    const [c1, c2] = [await session(), await session()];
    const k1 = randomBytes(16);
    const { fid } = await openLeased(c1, 'one.txt', k1, R | W | H);
    const asked = performance.now();
    const { brk, opened } = await openBehindBreak(c2, leasedOpen('one.txt', randomBytes(16)), c1);
    deepEqual({ ackRequired: brk.ackRequired, to: brk.to }, { ackRequired: true, to: R | H });
    const second = leaseOf(await opened);
    ok(performance.now() - asked >= TIMEOUT_MS, 'the open waited for the timeout');
    equal(
      second.state,
      R | H,
      'read and handle caching for the second open: the first still has the file open',
    );
    equal(await unanswered(), 1);
    ok(cap.logged('SMB lease break not acknowledged'), 'logged');

    const late = await c1.request({ command: CMD.OPLOCK_BREAK, body: leaseAck(k1, R | H) });
    equal(late.status, NT_STATUS.STATUS_UNSUCCESSFUL, 'no break in progress any more');
    equal((await c1.request({ command: CMD.CLOSE, body: closeBody(fid) })).status, 0);
  });

  test('2 a batch oplock break nobody acknowledges: the same, for an oplock', async () => {
    const [c1, c2] = [await session(), await session()];
    const held = await c1.request({
      command: CMD.CREATE,
      body: createBody('two.txt', { oplock: OPLOCK_BATCH }),
    });
    equal(held.status, 0);
    equal(held.body[2], OPLOCK_BATCH, 'a batch oplock granted');
    const fid = fileIdOf(held);
    const pending = c2.build({ command: CMD.CREATE, body: createBody('two.txt', { disposition: 1 }) });
    const opened = c2.wait(pending.messageId, false, 30_000);
    c2.sendFrame(pending.msg);
    const brk = await nthBreakNotice(c1, 0);
    equal(brk.body.readUInt16LE(0), 24, 'an oplock break notification');
    equal(brk.body[2], OPLOCK_LEVEL_II, 'offered level II');
    deepEqual(brk.body.subarray(8, 24), fid, 'for the open that holds the oplock');

    equal((await opened).status, 0, 'the open goes on once the break has timed out');
    equal(await unanswered(), 2);
    ok(cap.logged('SMB oplock break on two.txt not acknowledged; oplock taken'), 'logged with the path');

    const late = await c1.request({ command: CMD.OPLOCK_BREAK, body: oplockAck(fid, OPLOCK_LEVEL_II) });
    equal(late.status, NT_STATUS.STATUS_INVALID_OPLOCK_PROTOCOL, 'no oplock break in progress any more');
  });

  test('3 an acknowledgment that came while the process stood still (2.5 s, past the 1-s timeout) is honoured, not timed out', async () => {
    const [c1, c2] = [await session(), await session()];
    const k1 = randomBytes(16);
    await openLeased(c1, 'three.txt', k1, R | W | H);
    const before = await unanswered();
    // From here to the stall must take less than the 1-s timeout: nothing but the break and the ack.
    const { opened } = await openBehindBreak(c2, leasedOpen('three.txt', randomBytes(16)), c1);
    const ack = c1.build({ command: CMD.OPLOCK_BREAK, body: leaseAck(k1, R | H) });
    const acked = c1.wait(ack.messageId, false, 30_000);
    c1.sendFrame(ack.msg);
    // The acknowledgment is in the gateway's socket; now the whole process stands still, as
    // under a VM pause, past the break's timeout.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);

    const answer = await acked;
    equal(answer.status, 0, `ack: 0x${answer.status.toString(16)}`);
    equal(answer.body.readUInt32LE(24), R | H, 'the acknowledged state is kept');
    equal(leaseOf(await opened).state, R | H);
    equal(await unanswered(), before, 'not counted as unanswered');
    ok(cap.logged('event loop stood still'), 'the stall itself is logged');
  });

  test('4 ./cfs smb shares shows the timeout in force', async () => {
    const r = await runCommand(CFS, ['smb', 'shares', '--config', g.configFile], { timeoutMs: 60_000 });
    equal(r.code, 0, r.output);
    match(r.stdout, /^\toplock break timeout = 1s \(then an unanswered oplock or lease is taken\)$/m);
  });
});
