import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { blobPath } from '../../src/storage/fsck/blob-files.ts';
import { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR } from '../../src/storage/fsck/index.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { type DiagGateway, path, startDiagGateway, step } from './fixture.ts';

describe('unresponsive wizard: a stalled event loop, a drain, debug logging at runtime', () => {
  let g: DiagGateway;

  before(async () => {
    g = await startDiagGateway('unresponsive');
  });
  after(() => g.stop());

  test('1 a loop blocked 150 ms out of every 200 ms is a stall: debug logging, then restart', async () => {
    const blocker = setInterval(() => {
      const end = performance.now() + 150;
      while (performance.now() < end) {}
    }, 50);
    let run: Awaited<ReturnType<ReturnType<DiagGateway['as']>['diagnostics']['run']>>;
    try {
      run = await g.as('viewer').diagnostics.run({ tree: 'unresponsive' });
    } finally {
      clearInterval(blocker);
    }
    assert.deepEqual(path(run), ['process', 'event-loop', 'listeners', 'debug-logging', 'restart']);
    assert.equal(step(run, 'process').measured.pid, process.pid);
    const loop = step(run, 'event-loop');
    assert.equal(loop.outcome, 'lagging');
    assert.ok((loop.measured.p99Ms as number) > 100, loop.summary);
    assert.equal(step(run, 'listeners').outcome, 'accepting');
    const debug = step(run, 'debug-logging');
    assert.deepEqual(
      debug.actions.map((a) => a.request),
      [
        { action: 'log-level.set', level: 'debug' },
        { action: 'log-level.set', level: 'error' },
      ],
    );
    assert.ok(
      debug.commands?.product.includes('./cfs gateway log-level debug'),
      "the stand-in for 'log_level: debug'",
    );
    assert.ok(step(run, 'restart').commands?.runbook.includes('sudo systemctl restart claudefs-gateway'));
    assert.equal(run.conclusion.verdict, 'fail');
    assert.match(run.conclusion.summary, /the event loop stalls \(p99 \d+/);
  });

  test('2 draining: the listeners refuse new connections on purpose, and undrain is offered', async () => {
    await g.as('operator').diagnostics.remediate({ action: 'drain' });
    try {
      const run = await g.as('viewer').diagnostics.run({ tree: 'unresponsive' });
      const l = step(run, 'listeners');
      assert.equal(l.outcome, 'draining');
      assert.deepEqual(
        l.actions.map((a) => a.request),
        [{ action: 'undrain' }],
      );
      assert.equal(run.conclusion.verdict, 'warn');
    } finally {
      const r = await g.as('operator').diagnostics.remediate({ action: 'undrain' });
      assert.match(r.summary, /^serving/);
    }
    assert.equal(g.gw.draining, false);
  });

  test('3 debug logging on and back off at runtime: operators may, viewers may not', async () => {
    await assert.rejects(
      g.as('viewer').diagnostics.remediate({ action: 'log-level.set', level: 'debug' }),
      (e: unknown) => e instanceof TRPCError && e.code === 'FORBIDDEN',
    );
    const on = await g
      .as('operator')
      .diagnostics.remediate({ action: 'log-level.set', level: 'debug', tree: 'unresponsive' });
    assert.equal(on.summary, 'log level error -> debug');
    assert.equal(g.gw.log.level, 'debug');
    const off = await g.as('operator').diagnostics.remediate({ action: 'log-level.set', level: 'error' });
    assert.equal(off.summary, 'log level debug -> error');
    assert.equal(g.gw.log.level, 'error');
  });
});

describe('inconsistency wizard: a cache gone stale behind the gateway, and a blob changed on disk', () => {
  let g: DiagGateway;
  let gIno: bigint;

  before(async () => {
    g = await startDiagGateway('inconsistency', { yaml: ['cache: { ttl: 60s }'] });
    const { ns } = g.gw;
    const exp = await ns.ensureDirectory('/export', 0o1777);
    const f = await ns.create(ROOT, exp.ino, 'f', 0o644);
    // Past transport.inline_max, so the bytes are in a blob file to change behind its back.
    const body = Buffer.from('hello world\n'.repeat(2000));
    await ns.write(ROOT, f.ino, 0n, body);
    const a = await ns.getattr(f.ino);
    await ns.setXattrs(ROOT, f.ino, {
      [ETAG_MD5_XATTR]: Buffer.from(createHash('md5').update(body).digest('hex')),
      [ETAG_CHANGE_XATTR]: Buffer.from(String(a.changeId + 1n)),
    });
    // Bytes changed on the data store behind the namespace: fsck's checksum finds it.
    const fd = openSync(
      blobPath(g.gw.config.transport.kind === 'file' ? g.gw.config.transport.path : '', f.ino),
      'r+',
    );
    writeSync(fd, Buffer.from('j'), 0, 1, 0);
    closeSync(fd);
    gIno = (await ns.create(ROOT, exp.ino, 'g', 0o644)).ino;
    await ns.resolvePath(ROOT, '/export/g');
    // Another process changes g's mode: this gateway's cache still holds 0644 for a minute.
    const other = await openNamespace({
      metadataUrl: g.gw.config.metadata.url,
      transportUrl: g.gw.config.transport.url,
      cacheTtlMs: 0,
      cacheMaxEntries: 0,
      recover: false,
    });
    await other.setattr(ROOT, gIno, { mode: 0o600 });
    await other.close();
  });
  after(() => g.stop());

  test('1 the whole namespace: the stale entry, the invalidation offered, fsck’s checksum mismatch', async () => {
    const run = await g.as('viewer').diagnostics.run({ tree: 'inconsistency' });
    assert.deepEqual(path(run), ['cache-compare', 'invalidate', 'fsck', 'fsck-problems']);
    const cmp = step(run, 'cache-compare');
    assert.equal(cmp.outcome, 'stale');
    assert.ok(
      cmp.evidence.some((e) => e.includes(`inode ${gIno}: mode cached 420, stored 384`)),
      cmp.evidence.join('\n'),
    );
    assert.deepEqual(step(run, 'invalidate').actions[0]?.request, {
      action: 'cache.invalidate',
      scope: 'all',
    });
    const fsck = step(run, 'fsck');
    assert.equal(fsck.outcome, 'problems');
    assert.deepEqual(
      (fsck.measured.problems as Array<{ kind: string; path: string }>).map((p) => [p.kind, p.path]),
      [['checksum-mismatch', '/export/f']],
    );
    assert.ok(step(run, 'fsck-problems').commands?.product.some((c) => c.startsWith('./cfs fsck --repair')));
    assert.equal(run.conclusion.verdict, 'fail');
    assert.match(run.conclusion.summary, /stale cache: .*fsck: checksum-mismatch on \/export\/f/);
  });

  test('2 one path: stale, invalidated by an operator through the wizard, then consistent and clean', async () => {
    const run = await g.as('viewer').diagnostics.run({ tree: 'inconsistency', path: '/export/g' });
    assert.deepEqual(path(run), ['cache-compare', 'invalidate', 'fsck']);
    assert.equal(step(run, 'cache-compare').outcome, 'stale');
    assert.equal(step(run, 'fsck').outcome, 'clean');
    assert.equal(run.conclusion.verdict, 'warn');
    const action = step(run, 'invalidate').actions[0]!;
    assert.deepEqual(action.request, { action: 'cache.invalidate', scope: 'path', path: '/export/g' });
    assert.match(
      action.cli,
      /curl -X POST http:\/\/127\.0\.0\.1:\d+\/admin\/cache\/invalidate .*"path":"\/export\/g"/,
    );
    const done = await g
      .as('operator')
      .diagnostics.remediate({ ...action.request, tree: 'inconsistency', runId: run.id });
    assert.match(done.summary, /^cache invalidated \(path \/export\/g\)/);
    const again = await g.as('viewer').diagnostics.run({ tree: 'inconsistency', path: '/export/g' });
    assert.equal(step(again, 'cache-compare').outcome, 'consistent');
    assert.equal(again.conclusion.verdict, 'pass');
    assert.equal(
      (await g.gw.ns.resolvePath(ROOT, '/export/g')).mode & 0o777,
      0o600,
      'clients now see the stored mode',
    );
  });
});
