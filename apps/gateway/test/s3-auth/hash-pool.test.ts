import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HashPool } from '../../src/protocols/s3/checksums/hash-pool.ts';

describe('hash pool (MD5/SHA-256 off the event loop)', () => {
  test('1 digests equal node:crypto over the same pieces, whatever the split, many sessions at once', async () => {
    const pool = new HashPool(2);
    try {
      const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(300_000 + i * 77_777));
      const runs = bodies.map(async (body, i) => {
        const s = pool.session(['md5', 'sha256']);
        const piece = 1 + i * 9_999;
        for (let at = 0; at < body.length; at += piece) s.update(body.subarray(at, at + piece));
        return s.digest();
      });
      const got = await Promise.all(runs);
      got.forEach((d, i) => {
        deepEqual(d.get('md5'), createHash('md5').update(bodies[i]!).digest());
        deepEqual(d.get('sha256'), createHash('sha256').update(bodies[i]!).digest());
      });
    } finally {
      await pool.close();
    }
  });

  test('1b empty, exactly one staging buffer, one byte past it, several: the same digests', async () => {
    // A body of up to 1 MiB is one message (the algorithms ride on it, the digests on its
    // reply); an empty one only asks for digests; a full buffer is sent before the digest.
    const pool = new HashPool(1);
    try {
      for (const size of [0, 1, 1024 * 1024, 1024 * 1024 + 1, 2.5 * 1024 * 1024]) {
        const body = randomBytes(size);
        const s = pool.session(['md5', 'sha256']);
        s.update(body);
        const d = await s.digest();
        deepEqual(d.get('md5'), createHash('md5').update(body).digest(), `md5 of ${size} bytes`);
        deepEqual(d.get('sha256'), createHash('sha256').update(body).digest(), `sha256 of ${size} bytes`);
      }
      // A session cancelled before any message never reaches the worker; the next one works.
      pool.session(['md5']).cancel();
      const s = pool.session(['md5']);
      s.update(Buffer.from('abc'));
      deepEqual((await s.digest()).get('md5'), createHash('md5').update('abc').digest());
    } finally {
      await pool.close();
    }
  });

  test('2 the caller may reuse its buffer at once: the bytes were copied when sent', async () => {
    const pool = new HashPool(1);
    try {
      const s = pool.session(['md5']);
      const buf = Buffer.from('first');
      s.update(buf);
      buf.write('XXXXX');
      s.update(Buffer.from('second'));
      deepEqual((await s.digest()).get('md5'), createHash('md5').update('firstsecond').digest());
    } finally {
      await pool.close();
    }
  });

  test('3 a producer faster than the worker is held back: the backlog stays bounded', async () => {
    const pool = new HashPool(1);
    try {
      const s = pool.session(['md5', 'sha256']);
      const chunk = randomBytes(1024 * 1024);
      let waited = 0;
      for (let i = 0; i < 64; i++) {
        s.update(chunk);
        const behind = s.drained();
        if (behind) {
          waited++;
          await behind;
        }
      }
      ok(waited > 0, 'sending 64 MiB without waiting would queue it all in memory');
      const want = createHash('md5');
      for (let i = 0; i < 64; i++) want.update(chunk);
      deepEqual((await s.digest()).get('md5'), want.digest());
    } finally {
      await pool.close();
    }
  });

  test('4 an ended session refuses a second digest; a dead worker fails its pending digest', async () => {
    const pool = new HashPool(1);
    const s = pool.session(['md5']);
    await s.digest();
    await rejects(s.digest(), /already ended/);
    const t = pool.session(['md5']);
    const mib = Buffer.alloc(1 << 20, 7);
    for (let i = 0; i < 4; i++) t.update(mib);
    // The stop is asked for first (terminate() halts the worker's JavaScript at once), then the
    // digest: the worker can no longer answer it, and its exit is reported after the digest is
    // pending. Asking first and stopping after raced: a worker that had caught up answered.
    const stopped = pool.close();
    const pending = t.digest();
    await stopped;
    await rejects(pending, /exited/);
  });

  test('5 an idle pool does not keep a process alive; a pending digest does until it is answered', () => {
    const module = fileURLToPath(new URL('../../src/protocols/s3/checksums/hash-pool.ts', import.meta.url));
    const script = `
      import { hashPool } from ${JSON.stringify(module)};
      const s = hashPool.session(['sha256']);
      s.update(Buffer.from('abc'));
      s.digest().then((d) => console.log(d.get('sha256').toString('hex')));
    `;
    const dir = mkdtempSync(join(tmpdir(), 'cfs-hash-pool-'));
    const file = join(dir, 'digest.mts');
    writeFileSync(file, script);
    const root = fileURLToPath(new URL('../../../..', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    rmSync(dir, { recursive: true, force: true });
    equal(r.status, 0, r.stderr);
    equal(r.stdout.trim(), createHash('sha256').update('abc').digest('hex'));
  });
});
