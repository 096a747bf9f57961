import { equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { runCommand } from '../support/proc.ts';
import { mustToolPath, requireTools } from '../support/tools.ts';
import { type NfsGateway, startNfsGateway } from './fixture.ts';
import { ensureRpcbind, type Rpcbind } from './rpcbind.ts';

/*
 * Real clients against a gateway started here: rpcinfo, showmount (through rpcbind, which the
 * test starts unless one runs; Debian's `rpcinfo -n PORT` also connects to port 111 first), and
 * libnfs's nfs-ls / nfs-cp / nfs-cat with explicit ports.
 */

const TOOLS = requireTools('rpcbind', 'rpcinfo', 'showmount', 'nfs-ls', 'nfs-cp', 'nfs-cat');

async function run(tool: string, ...args: string[]) {
  return runCommand(mustToolPath(tool), args, { timeoutMs: 30_000 });
}

/** `rpcinfo -p` rows as "prog vers proto port". */
async function registrations(): Promise<string[]> {
  const r = await run('rpcinfo', '-p', 'localhost');
  equal(r.code, 0, r.output);
  return r.stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/).slice(0, 4).join(' '))
    .filter((l) => l !== '');
}

describe('real clients: rpcinfo, showmount, libnfs', TOOLS, () => {
  let rpcbind: Rpcbind;
  let g: NfsGateway;
  before(async () => {
    rpcbind = await ensureRpcbind();
    g = await startNfsGateway({
      server: { portmapper: { host: '127.0.0.1', port: 111 } },
      exports: [
        '{ path: /export, clients: [127.0.0.0/8, "*.lab.example"] }',
        '{ path: /archive, access: ro }',
      ],
    });
  });
  after(async () => {
    await g?.stop();
    await rpcbind?.stop();
  });

  test('1 rpcinfo -n pings NFS v3, MOUNT v3 and v1, NLM v4 and NSM v1 on their ports', async () => {
    const cases: Array<[number, string, string]> = [
      [g.nfsPort, '100003', '3'],
      [g.mountPort, '100005', '3'],
      [g.mountPort, '100005', '1'],
      [g.nfsPort, '100021', '4'],
      [g.nfsPort, '100024', '1'],
    ];
    for (const [port, prog, vers] of cases) {
      const r = await run('rpcinfo', '-n', String(port), '-t', '127.0.0.1', prog, vers);
      equal(r.code, 0, r.output);
      match(r.stdout, new RegExp(`program ${prog} version ${vers} ready and waiting`));
    }
  });

  test('2 rpcinfo -n for NFS version 2: PROG_MISMATCH with the range 3..3', async () => {
    const r = await run('rpcinfo', '-n', String(g.nfsPort), '-t', '127.0.0.1', '100003', '2');
    ok(r.code !== 0);
    match(r.output, /low version = 3, high version = 3/);
  });

  test('3 rpcinfo -p lists the registered programs on the configured ports', async () => {
    const rows = await registrations();
    for (const want of [
      `100003 3 tcp ${g.nfsPort}`,
      `100005 1 tcp ${g.mountPort}`,
      `100005 3 tcp ${g.mountPort}`,
      `100021 4 tcp ${g.nfsPort}`,
      `100024 1 tcp ${g.nfsPort}`,
    ]) {
      ok(rows.includes(want), `${want} in:\n${rows.join('\n')}`);
    }
  });

  test('4 showmount -e lists every export with its clients', async () => {
    const r = await run('showmount', '-e', 'localhost');
    equal(r.code, 0, r.output);
    match(r.stdout, /^Export list for localhost:$/m);
    match(r.stdout, /^\/export\s+127\.0\.0\.0\/8,\*\.lab\.example$/m);
    match(r.stdout, /^\/archive\s+0\.0\.0\.0\/0$/m);
  });

  test('5 nfs-cp, nfs-ls and nfs-cat through an export and a mounted subdirectory', async () => {
    const local = join(g.dir, 'hello.txt');
    writeFileSync(local, 'hello over NFS\n');
    let r = await run('nfs-cp', local, g.url('/export/hello.txt'));
    equal(r.code, 0, r.output);
    r = await run('nfs-ls', g.url('/export'));
    equal(r.code, 0, r.output);
    match(r.stdout, /hello\.txt/);
    r = await run('nfs-cat', g.url('/export/hello.txt'));
    equal(r.code, 0, r.output);
    equal(r.stdout, 'hello over NFS\n');

    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    const sub = await g.gw.ns.mkdir(ROOT, exp.ino, 'sub', 0o777);
    await g.gw.ns.mkdir(ROOT, sub.ino, 'dir', 0o777);
    r = await run('nfs-cp', local, g.url('/export/sub/dir/inner.txt'));
    equal(r.code, 0, r.output);
    r = await run('nfs-ls', g.url('/export/sub/dir'));
    equal(r.code, 0, r.output);
    match(r.stdout, /inner\.txt/);
    // The read-only export mounts and lists; writing into it is refused.
    r = await run('nfs-ls', g.url('/archive'));
    equal(r.code, 0, r.output);
    r = await run('nfs-cp', local, g.url('/archive/nope.txt'));
    ok(r.code !== 0, r.output);
  });

  test('6 after a clean stop the registrations are gone', async () => {
    await g.stop();
    const rows = await registrations();
    for (const prog of ['100003', '100005', '100021', '100024']) {
      ok(!rows.some((row) => row.startsWith(`${prog} `)), `${prog} still registered:\n${rows.join('\n')}`);
    }
  });
});
