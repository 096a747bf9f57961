import { equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const HALF = 1 << 20;

/**
 * `systemctl stop` while an S3 upload is half sent: the gateway stops accepting, lets the upload
 * finish and answers it, says what it is waiting on while it waits, and only then exits. What it
 * acknowledged is there after the next start.
 */
describe('a stop with an S3 upload in flight', () => {
  let dir: string;
  let file: string;
  let healthPort: number;
  let s3: S3Client;
  let gw: ProcessHandle | undefined;
  const start = async () => {
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', file], { name: 'gateway' });
    await gw.waitForLine(/gateway started/, 60_000);
  };

  before(async () => {
    dir = makeTempDir('stop');
    const [s3Port, health] = (await freePorts(2)) as [number, number];
    healthPort = health;
    file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `node: { name: gw-stop, state_dir: ${dir}/state }
nfs: { enabled: false }
smb: { enabled: false }
s3: { bind: 127.0.0.1:${s3Port}, root: /export }
health: { bind: 127.0.0.1:${health}, probe_interval: 1h }
`,
    );
    await start();
    const add = await runCommand(CFS, ['user', 'add', 'alice', '--config', file], { timeoutMs: 60_000 });
    equal(add.code, 0, add.output);
    const key = await runCommand(CFS, ['user', 'key', 'create', 'alice', '--json', '--config', file], {
      timeoutMs: 60_000,
    });
    equal(key.code, 0, key.output);
    const k = JSON.parse(key.stdout) as { AccessKeyId: string; SecretAccessKey: string };
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${s3Port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey },
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'logs' }));
  });
  after(async () => {
    s3?.destroy();
    await gw?.stop();
  });

  test('1 the upload is answered, the wait is logged by name, the exit is clean, and the object is there after a restart', async () => {
    const body = new PassThrough();
    const first = Buffer.alloc(HALF, 0x61);
    const second = Buffer.alloc(HALF, 0x62);
    const put = s3.send(
      new PutObjectCommand({ Bucket: 'logs', Key: 'half-sent.bin', Body: body, ContentLength: 2 * HALF }),
    );
    body.write(first);
    // The gateway has the request once it counts it in flight.
    const running = gw as ProcessHandle;
    await waitInFlight(healthPort);

    process.kill(running.pid, 'SIGTERM');
    await running.waitForLine(/still stopping after 5 s: waiting on the s3 server/, 30_000);
    ok(!/gateway stopped/.test(running.stdout()), 'it did not stop under the upload');
    body.end(second);
    const answer = await put;
    ok(answer.ETag, 'the upload was acknowledged');
    const status = await running.exited;
    equal(status.code, 0, running.output().slice(-2000));
    match(running.stdout(), /gateway stopped/);

    gw = undefined;
    await start();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'logs', Key: 'half-sent.bin' }));
    const bytes = Buffer.from(
      await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    equal(bytes.length, 2 * HALF);
    ok(bytes.subarray(0, HALF).equals(first) && bytes.subarray(HALF).equals(second), 'both halves, in order');
  });
});

/** Waits until the gateway's drain status (GET /admin/drain, loopback) counts a request in flight. */
async function waitInFlight(health: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${health}/admin/drain`);
    const s = (await r.json()) as { inFlight?: number };
    if ((s.inFlight ?? 0) >= 1) return;
    if (Date.now() > deadline) throw new Error(`no request in flight: ${JSON.stringify(s)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
