import { equal, match, ok } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { ROOT } from '../../src/storage/types.ts';
import { getJson } from '../support/http.ts';
import { freePorts } from '../support/ports.ts';
import { makeTempDir } from '../support/tmpdir.ts';

interface Health {
  overall: string;
  checks: Array<{ name: string; status: string; message: string }>;
}

async function startGateway(dir: string, metadataDir: string): Promise<{ gw: Gateway; url: string }> {
  const [ops] = await freePorts(1);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { state_dir: ${dir}/state }
metadata: { url: "sqlite://${metadataDir}/meta.db" }
nfs: { enabled: false }
smb: { enabled: false }
s3: { enabled: false }
health: { bind: 127.0.0.1:${ops}, probe_interval: 100ms }
circuit_breaker: { failure_threshold: 3, reset_timeout: 500ms }
`,
  );
  const { config, problems } = await loadConfig(file);
  if (!config) throw new Error(JSON.stringify(problems));
  const gw = new Gateway(config, [], createLogger('error', { pretty: false }));
  await gw.start();
  return { gw, url: `http://127.0.0.1:${ops}/health` };
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const check = async (url: string, name: string) =>
  (
    await getJson<Health>(url, { timeoutMs: 5000 }).catch(async () => {
      // /health answers 503 when unhealthy; getJson rejects on non-2xx.
      const r = await fetch(url);
      return (await r.json()) as Health;
    })
  ).checks.find((c) => c.name === name)!;

describe('circuit breakers against real backend faults, closed again by background probes alone', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('1 transport: the data folder disappears → open, fast EAGAIN, /health says why; it returns → closed with no client traffic', async () => {
    const dir = makeTempDir('fault-transport');
    const { gw, url } = await startGateway(dir, `${dir}/state`);
    cleanups.push(() => gw.stop());
    const exp = await gw.ns.ensureDirectory('/export', 0o777);
    const f = await gw.ns.create(ROOT, exp.ino, 'f', 0o644);
    await gw.ns.write(ROOT, f.ino, 0n, Buffer.from('kept'));
    const data = join(dir, 'state', 'data');
    renameSync(data, `${data}.away`);
    await until('the transport circuit to open', () => gw.ns.breakers.transport.state === 'open');
    const t = performance.now();
    await gw.ns.write(ROOT, f.ino, 0n, Buffer.from('x')).then(
      () => Promise.reject(new Error('write succeeded with the transport down')),
      (e: { code: string }) => equal(e.code, 'EAGAIN'),
    );
    ok(performance.now() - t < 1000);
    await until(
      '/health to report transport unhealthy',
      async () => (await check(url, 'transport')).status === 'unhealthy',
    );
    const c = await check(url, 'transport');
    match(c.message, /transport backend/);
    renameSync(`${data}.away`, data);
    await until(
      'the transport circuit to close by itself',
      () => gw.ns.breakers.transport.state === 'closed',
    );
    equal((await check(url, 'transport')).status, 'healthy');
    equal((await gw.ns.read(ROOT, f.ino, 0n, 10)).data.toString(), 'kept');
  });

  test('2 metadata: its file system fills up (a real 4 MiB tmpfs) → ENOSPC, open; space freed → closed by itself', async (t) => {
    const dir = makeTempDir('fault-metadata');
    const mnt = join(dir, 'meta-fs');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      if (process.env.CI) throw new Error('mounting a tmpfs failed (CI runs as root and must be able to)');
      return t.skip('needs root to mount a small tmpfs');
    }
    cleanups.push(() => {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    });
    const { gw, url } = await startGateway(dir, mnt);
    cleanups.push(() => gw.stop());
    const exp = await gw.ns.ensureDirectory('/export', 0o777);
    // Fill the file system that holds meta.db and its WAL.
    const filler = join(mnt, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {}
    let refused = 0;
    for (let i = 0; i < 2000 && gw.ns.breakers.metadata.state === 'closed'; i++) {
      await gw.ns
        .create(ROOT, exp.ino, `file-with-a-long-name-${i}-${'x'.repeat(150)}`, 0o644)
        .catch((e: { code: string }) => {
          ok(['ENOSPC', 'EIO', 'EAGAIN'].includes(e.code), e.code);
          refused++;
        });
    }
    ok(refused > 0, 'creates kept succeeding on a full file system');
    await until('the metadata circuit to open', () => gw.ns.breakers.metadata.state === 'open');
    await until(
      '/health to report metadata unhealthy',
      async () => (await check(url, 'metadata')).status === 'unhealthy',
    );
    match((await check(url, 'metadata')).message, /metadata backend/);
    rmSync(filler);
    await until('the metadata circuit to close by itself', () => gw.ns.breakers.metadata.state === 'closed');
    const made = await gw.ns.create(ROOT, exp.ino, 'after-recovery', 0o644);
    equal((await gw.ns.lookup(ROOT, exp.ino, 'after-recovery')).ino, made.ino);
  });
});
