import { equal, match } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getJson } from '../support/http.ts';
import { freePorts } from '../support/ports.ts';
import { spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

test('1 ./cfs gateway start s3 --bind serves S3 XML and reports the s3 health check (its probes unlogged); SIGTERM stops it', async () => {
  const dir = makeTempDir('cfs-s3');
  const [s3, health, other] = (await freePorts(3)) as [number, number, number];
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { name: gw-s3-cli, state_dir: ${dir}/state }
s3: { bind: 127.0.0.1:${other}, root: /export }
health: { bind: 127.0.0.1:${health}, probe_interval: 200ms }
`,
  );
  const gw = spawnProcess(CFS, ['gateway', 'start', 's3', '--config', file, '--bind', `127.0.0.1:${s3}`], {
    name: 'gateway',
  });
  try {
    await gw.waitForLine(/gateway started/, 60_000);
    match(gw.stdout(), new RegExp(`S3 \\(http\\) listening on 127\\.0\\.0\\.1:${s3}`));
    const r = await fetch(`http://127.0.0.1:${s3}/`);
    equal(r.status, 403);
    match(await r.text(), /<Error><Code>AccessDenied<\/Code>.*<RequestId>[0-9A-F]+<\/RequestId>/s);
    await new Promise((res) => setTimeout(res, 500));
    const h = await getJson<{ checks: Array<{ name: string; status: string }> }>(
      `http://127.0.0.1:${health}/health`,
    );
    equal(h.checks.find((c) => c.name === 's3')?.status, 'healthy');
    // The health probe's own anonymous request (every 200 ms here) is not logged as a refusal:
    // the one warning is the anonymous request above.
    await new Promise((res) => setTimeout(res, 600));
    equal(gw.output().match(/S3 request refused: AccessDenied/g)?.length, 1, gw.output().slice(-2000));
  } finally {
    const status = await gw.stop();
    equal(status.code, 0, gw.output().slice(-2000));
  }
});
