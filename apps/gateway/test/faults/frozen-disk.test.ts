/**
 * The data disk stops answering — a real ext4 file system frozen with `fsfreeze`, as a hung
 * SAN volume or a dead NFS server under the data folder would be — under a gateway serving
 * NFS, S3 and SMB. Writes already waiting on it cannot be answered; what the operator and the
 * other clients must see is the rest: the transport circuit opened by the calls that wait (not
 * when, if ever, they answer), every new request refused at once with the protocol's "come
 * back later", the metadata backend not blamed (its WAL flushes do not queue behind the stuck
 * data calls), /health naming the cause; once thawed, the waiting writes answered, the circuit
 * closed by itself, nothing acknowledged lost.
 */

import { deepEqual, equal, match, notEqual } from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { until } from '../diagnostics/fixture.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import { capturedLog } from '../support/log.ts';
import { freeze, mountExt4, thaw } from '../support/loop-fs.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { Rig } from './rig.ts';
import { assertAnswers, Clients, describeRound, OPEN_CIRCUIT, SLOW_BUT_DONE, WAIT_MS } from './scenario.ts';

describe('a data disk that stops answering (fsfreeze of a real ext4 file system)', () => {
  const captured = capturedLog();
  let fs: string | undefined;
  let rig: Rig;
  let clients: Clients;

  before(async () => {
    fs = mountExt4(join(makeTempDir('frozen'), 'data-fs'), '64M');
    if (!fs) return;
    rig = await Rig.start({
      dataDir: join(fs, 'data'),
      log: captured.log,
      extraYaml: 'circuit_breaker: { failure_threshold: 3, reset_timeout: 2s, slow_call: 1s }',
    });
    clients = await Clients.open(rig);
  });
  after(async () => {
    if (fs) thaw(fs);
    clients?.close();
    await rig?.stop();
  });

  test('1 frozen: the transport circuit opens while writes wait, new requests are refused at once, metadata stays healthy; thawed: all answered, nothing lost', async (t) => {
    if (!fs) return t.skip('needs root to mount an ext4 image on a loop device');
    const disk = fs;
    const transport = rig.gw.ns.breakers.transport;
    const metadata = rig.gw.ns.breakers.metadata;
    const configured = rig.gw.config.circuitBreaker;
    const acked = await clients.writeAcked('before');

    freeze(disk);
    let waiting: Promise<Awaited<ReturnType<Clients['attempt']>>> | undefined;
    try {
      // One write per protocol, each waiting on the frozen disk: they are not answered now.
      waiting = clients.attempt('transport');
      await until(
        'the transport circuit to open, with writes still waiting',
        () => transport.state === 'open',
        WAIT_MS,
      );
      match(
        transport.snapshot().lastError?.message ?? '',
        /transport backend: (call|probe) not answered after \d+ ms \(slow_call 1000 ms\)/,
      );
      // Held open while the test looks: a half-open trial would wait on the disk too.
      transport.configure({ ...configured, resetTimeoutMs: 10 * 60_000 });
      await until('the transport circuit to be open again', () => transport.state === 'open', WAIT_MS);

      const refused = await clients.attempt('transport');
      assertAnswers(refused, [OPEN_CIRCUIT], 'frozen data disk, circuit open');

      await until(
        '/health to name the transport backend and that it does not answer',
        async () => {
          const c = await rig.check('transport');
          return c.status === 'unhealthy' && /not answered after/.test(c.message);
        },
        WAIT_MS,
      );
      const health = await rig.health();
      const check = (name: string) => health.checks.find((c) => c.name === name)!;
      equal(check('transport').status, 'unhealthy');
      match(check('transport').message, /transport backend/);
      // The metadata backend is not blamed: its WAL flushes ran on their own thread.
      notEqual(check('metadata').status, 'unhealthy', `metadata: ${check('metadata').message}`);
      equal(metadata.state, 'closed', 'the metadata circuit stayed closed');
      const { samples } = await scrape(rig.opsUrl);
      equal(sampleValue(samples, 'gateway_circuit_breaker_state', { backend: 'transport' }), 1);
      equal(sampleValue(samples, 'gateway_circuit_breaker_state', { backend: 'metadata' }), 0);
      // Changes that need only metadata still go through: names created over NFS and SMB (an
      // S3 PUT has bytes to store, and is refused).
      deepEqual(Object.fromEntries((await clients.attempt('metadata')).map((a) => [a.protocol, a.answer])), {
        NFS: 'NFS3_OK',
        S3: '503 ServiceUnavailable',
        SMB: 'STATUS_SUCCESS',
      });
      t.diagnostic(
        `refused while frozen: ${describeRound({ label: 'frozen', direct: [], open: refused, recoveryMs: 0 })}`,
      );
    } finally {
      transport.configure(configured);
      thaw(disk);
    }

    // The writes that waited are answered now: done, or refused by the circuit that opened
    // meanwhile — never an I/O error, never a hang.
    const late = await waiting;
    assertAnswers(late, [SLOW_BUT_DONE, OPEN_CIRCUIT], 'writes that waited on the frozen disk, once thawed');
    await until('the transport circuit to close by itself', () => transport.state === 'closed', WAIT_MS);
    await until(
      '/health to stop reporting the transport unhealthy',
      async () => (await rig.check('transport')).status !== 'unhealthy',
      WAIT_MS,
    );
    await clients.verify(acked);
    await clients.verify(await clients.writeAcked('after'));
    equal(metadata.snapshot().totalFailures, 0, 'no metadata failure was counted');
  });
});
