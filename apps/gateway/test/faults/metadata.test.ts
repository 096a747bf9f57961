/**
 * The metadata store ("A2") made to fail under a gateway serving NFS, S3 and SMB: for real
 * where this machine allows it (its file system full, its database locked by another
 * process) and through the test-only fault wrapper otherwise (a database whose every read
 * fails, one whose writes fail). For each, scenario.ts runs the round: fast protocol errors,
 * the circuit opened by the probes alone, /health naming the backend and the cause, recovery
 * by itself, nothing acknowledged lost.
 */
import { ok, rejects } from 'node:assert/strict';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { emptyWal } from '../support/empty-wal.ts';
import { type ProcessHandle, spawnProcess } from '../support/proc.ts';
import { waitFor } from '../support/wait.ts';
import {
  describeFullRound,
  describeRound,
  faultGateway,
  faultRound,
  fillFileSystem,
  fullRound,
  ON_EIO,
  ON_ENOSPC,
  OPEN_CIRCUIT,
  SLOW_BUT_DONE,
} from './scenario.ts';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

describe('metadata faults, as NFS, S3 and SMB clients see them', () => {
  // Room enough for the space reserve (64 MiB free at start: sqlite/space-reserve.ts).
  const g = faultGateway('metadata', '96m');

  test('1 the metadata file system fills up (a real 96 MiB tmpfs): new names are refused as disk full, reads go on, no circuit opens; space freed, all goes on', async (t) => {
    if (!g.mounted) return t.skip('needs root to mount a tmpfs');
    let filler: { free(): void } | undefined;
    const figures = await fullRound(g.rig, g.clients, {
      backend: 'metadata',
      label: 'metadata: file system full',
      apply: () => {
        // Both steps are synchronous, so no commit of the gateway (running in this process)
        // comes between them: the WAL is emptied, then the disk filled. Every commit must now
        // grow the WAL and cannot.
        emptyWal(join(g.home, 'meta.db'));
        filler = fillFileSystem(g.home);
      },
      remove: () => filler?.free(),
      direct: ON_ENOSPC,
      cause: /ENOSPC: metadata backend: database or disk is full/,
    });
    t.diagnostic(describeFullRound(figures));
  });

  test('1b the disk full to its last block: an S3 DELETE still commits — the space reserve is released, and said so — and the reserve is taken again once there is room', async (t) => {
    if (!g.mounted) return t.skip('needs root to mount a tmpfs');
    const reserve = join(g.home, 'space-reserve');
    await waitFor(() => existsSync(reserve), 'the space reserve in place', 10_000);
    const s3 = g.rig.s3();
    let filler: { free(): void } | undefined;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'reserve' }));
      await s3.send(
        new PutObjectCommand({ Bucket: 'reserve', Key: 'old.bin', Body: Buffer.alloc(100_000, 1) }),
      );
      emptyWal(join(g.home, 'meta.db'));
      filler = fillFileSystem(g.home);
      await rejects(
        s3.send(new PutObjectCommand({ Bucket: 'reserve', Key: 'new.bin', Body: 'x' })),
        (e: Error) => e.name === 'InsufficientStorage',
        'a write is refused: the disk is full',
      );
      await s3.send(new DeleteObjectCommand({ Bucket: 'reserve', Key: 'old.bin' }));
      await rejects(s3.send(new HeadObjectCommand({ Bucket: 'reserve', Key: 'old.bin' })), {
        name: 'NotFound',
      });
      ok(!existsSync(reserve), 'the reserve gave its room to the delete');
      ok(g.logged('metadata disk full: released the 8 MiB kept in reserve'), 'said in the log');
    } finally {
      filler?.free();
      s3.destroy();
    }
    await waitFor(() => existsSync(reserve), 'the reserve taken again once there is room', 10_000);
    ok(g.logged('holds its reserve for deletes again'));
  });

  test('2 another process holds the database write lock (BEGIN EXCLUSIVE), then is killed', async (t) => {
    let holder: ProcessHandle | undefined;
    const db = join(g.home, 'meta.db');
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'metadata',
      label: 'metadata: database locked by another process',
      apply: async () => {
        holder = spawnProcess(
          process.execPath,
          [
            '-e',
            `const db = new (require('better-sqlite3'))(${JSON.stringify(db)}); db.exec('BEGIN EXCLUSIVE'); console.log('locked'); setInterval(() => {}, 1000);`,
          ],
          { cwd: REPO, name: 'lock holder' },
        );
        await holder.waitForLine(/^locked$/, 30_000);
      },
      remove: async () => {
        process.kill(holder!.pid, 'SIGKILL');
        await holder!.exited;
      },
      // SQLITE_BUSY is EAGAIN: the same answer as an open circuit.
      direct: OPEN_CIRCUIT,
      cause: /database is locked/,
    });
    t.diagnostic(describeRound(figures));
  });

  test('3 the database becomes unreadable: every call fails SQLITE_IOERR_READ (injected), then it clears', async (t) => {
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'metadata',
      label: 'metadata: unreadable, every call fails (injected)',
      apply: () => g.faults.arm('metadata', { errno: 'SQLITE_IOERR_READ', calls: 'all' }),
      remove: () => g.faults.clear('metadata'),
      direct: ON_EIO,
      cause: /disk I\/O error/,
    });
    t.diagnostic(describeRound(figures));
  });

  test('4 reads work but every write fails SQLITE_IOERR_WRITE (injected), then it clears', async (t) => {
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'metadata',
      label: 'metadata: writes fail, reads work (injected)',
      apply: () => g.faults.arm('metadata', { errno: 'SQLITE_IOERR_WRITE', calls: 'writes' }),
      remove: () => g.faults.clear('metadata'),
      direct: ON_EIO,
      cause: /disk I\/O error/,
    });
    t.diagnostic(describeRound(figures));
  });

  test('5 the WAL flush slows to 1.5 s (injected): slow commits open the circuit, then clients are refused at once', async (t) => {
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'metadata',
      label: 'metadata: WAL flush 1.5 s (injected), slow_call 1 s',
      apply: () => g.faults.arm('metadata', { delayMs: 1500 }),
      remove: () => g.faults.clear('metadata'),
      direct: SLOW_BUT_DONE,
      // Answered late, or counted by the watchdog while it waited.
      cause: /(slow call: \d+ ms|not answered after \d+ ms) \(slow_call 1000 ms\)/,
    });
    t.diagnostic(describeRound(figures));
  });

  test('6 the database file is moved away under the running gateway (as `rm meta.db*` would unlink it): writes fail instead of going into a file no path names, then it is put back', async (t) => {
    const db = join(g.home, 'meta.db');
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'metadata',
      label: 'metadata: database file moved away',
      apply: () => renameSync(db, `${db}.moved`),
      remove: () => renameSync(`${db}.moved`, db),
      direct: ON_EIO,
      cause: /the database \S+meta\.db was removed under the running gateway/,
    });
    t.diagnostic(describeRound(figures));
  });
});
