import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fetchText, getJson, waitForHttp } from './http.ts';
import { freePort, freePorts } from './ports.ts';
import { runCommand, spawnProcess } from './proc.ts';
import { makeTempDir } from './tmpdir.ts';
import { requireTools, toolPath } from './tools.ts';

test('requireTools names the Debian package of each missing tool, and never skips under CI', () => {
  const saved = process.env.CI;
  try {
    delete process.env.CI;
    assert.deepEqual(requireTools('node'), {});
    assert.deepEqual(requireTools('no-such-tool-xyz'), {
      skip: 'needs no-such-tool-xyz — apt-get install -y no-such-tool-xyz',
    });
    if (toolPath('smbtorture') === undefined && toolPath('ganesha.nfsd') === undefined) {
      assert.deepEqual(requireTools('smbtorture', 'ganesha.nfsd'), {
        skip: 'needs smbtorture, ganesha.nfsd — apt-get install -y samba-testsuite nfs-ganesha nfs-ganesha-vfs',
      });
    }
    process.env.CI = 'true';
    assert.deepEqual(requireTools('no-such-tool-xyz'), {});
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});

test('freePorts hands out distinct ports, never the same one twice in a process', async () => {
  const batch = await freePorts(5);
  const single = await freePort();
  const all = [...batch, single];
  assert.equal(new Set(all).size, all.length);
  for (const port of all) assert.ok(port > 1024 && port < 65536);
});

test('freePorts reserves its ports for this process, outside the ephemeral range', async () => {
  const [port] = (await freePorts(1)) as [number];
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  assert.ok(port < (low as number), `${port} is below the ephemeral range starting at ${low}`);
  const file = join(tmpdir(), 'cfs-test-ports', String(port));
  assert.equal(readFileSync(file, 'utf8'), String(process.pid));
});

test('makeTempDir makes a fresh folder each time', () => {
  const a = makeTempDir('support test');
  const b = makeTempDir('support test');
  assert.notEqual(a, b);
  assert.match(a, /cfs-support-test-/);
  writeFileSync(join(a, 'x'), 'y');
  assert.ok(existsSync(join(a, 'x')));
});

test('spawnProcess captures output, waits for lines and stops by PID', async () => {
  const proc = spawnProcess(process.execPath, [
    '-e',
    "console.log('starting'); console.error('warn: on stderr'); setTimeout(() => console.log('listening on 1234'), 50); setInterval(() => {}, 1000); process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });",
  ]);
  const match = await proc.waitForLine(/listening on (\d+)/, 5000);
  assert.equal(match[1], '1234');
  await proc.waitForLine(/^warn:/, 1000, 'stderr');
  await assert.rejects(proc.waitForLine(/never printed/, 100), /timed out after 100 ms/);
  const status = await proc.stop();
  assert.equal(status.code, 0);
  assert.match(proc.stdout(), /starting\n[\s\S]*bye/);
  assert.match(proc.stderr(), /warn: on stderr/);
});

test('stop() escalates to SIGKILL when SIGTERM is ignored', async () => {
  const proc = spawnProcess(process.execPath, [
    '-e',
    "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);",
  ]);
  await proc.waitForLine(/ready/);
  const status = await proc.stop(200);
  assert.equal(status.signal, 'SIGKILL');
});

test('runCommand returns exit status and output; waitForLine rejects when the process exits', async () => {
  const result = await runCommand(process.execPath, ['-e', "process.stdout.write('out'); process.exit(3)"]);
  assert.equal(result.code, 3);
  assert.equal(result.stdout, 'out');
  const proc = spawnProcess(process.execPath, ['-e', "console.log('only line')"]);
  await assert.rejects(proc.waitForLine(/missing/, 5000), /exited \(code 0/);
  await assert.rejects(runCommand('/nonexistent/binary'), /failed to start/);
});

test('http helpers fetch text and JSON and wait for a listener', async () => {
  const port = await freePort();
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  const ready = waitForHttp(`http://127.0.0.1:${port}/health`, 5000);
  await new Promise((resolve) => setTimeout(resolve, 150));
  server.listen(port, '127.0.0.1');
  try {
    assert.equal((await ready).status, 200);
    assert.deepEqual(await getJson(`http://127.0.0.1:${port}/x`), { path: '/x' });
    assert.equal((await fetchText(`http://127.0.0.1:${port}/y`)).body, '{"path":"/y"}');
  } finally {
    server.close();
  }
});
