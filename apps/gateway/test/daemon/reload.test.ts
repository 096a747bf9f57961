import { equal, match, ok } from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openControlPlane } from '../../src/control/index.ts';
import { selfSignedCert } from '../s3/fixture.ts';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { mustToolPath, requireTools } from '../support/tools.ts';

/*
 * A running gateway reads its file again (`./cfs gateway reload`, SIGHUP, POST
 * /admin/config/reload): exports and shares change under connected clients, what is bound at
 * start waits for a restart and says so, and a file with errors changes nothing. Real clients:
 * libnfs's nfs-cp / nfs-cat / nfs-ls and smbclient.
 */

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const TOOLS = requireTools('nfs-cp', 'nfs-cat', 'nfs-ls', 'smbclient', 'stdbuf', 'curl');
const PASSWORD = 'Reload-Passw0rd';

describe('reloading the configuration of a running gateway', TOOLS, () => {
  let dir: string;
  let file: string;
  let ports: { nfs: number; mount: number; smb: number; health: number; spare: number; s3: number };
  let publicBuckets = '';
  let gw: ProcessHandle;
  let exports: string;
  let shares: string;
  const sample = () => join(dir, 'sample.txt');

  const write = () =>
    writeFileSync(
      file,
      `node: { name: gw-reload, state_dir: ${dir}/state }
log_level: info
nfs:
  bind: 127.0.0.1:${ports.nfs}
  mount_bind: 127.0.0.1:${ports.mount}
  exports: ${exports}
s3: { bind: 127.0.0.1:${ports.s3}, root: /export, public_read_buckets: [${publicBuckets}] }
smb:
  bind: 127.0.0.1:${ports.smb}
  shares: ${shares}
health: { bind: 127.0.0.1:${ports.health}, probe_interval: 500ms }
`,
    );
  const cfs = (...args: string[]) => runCommand(CFS, [...args, '--config', file], { timeoutMs: 60_000 });
  const reload = async () => {
    const r = await cfs('gateway', 'reload');
    equal(r.code, 0, r.output);
    return r.stdout;
  };
  const nfsUrl = (path: string, port = ports.nfs) =>
    `nfs://127.0.0.1${path}?nfsport=${port}&mountport=${ports.mount}&version=3`;
  const nfs = (tool: string, ...args: string[]) =>
    runCommand(mustToolPath(tool), args, { timeoutMs: 30_000 });
  const smb = (share: string, command: string) =>
    runCommand(
      mustToolPath('smbclient'),
      ['-p', String(ports.smb), `//127.0.0.1/${share}`, '-U', `bob%${PASSWORD}`, '-c', command],
      { timeoutMs: 30_000 },
    );

  before(async () => {
    dir = makeTempDir('reload');
    file = join(dir, 'gateway.yaml');
    const [nfsPort, mount, smbPort, health, spare, s3] = await freePorts(6);
    ports = { nfs: nfsPort!, mount: mount!, smb: smbPort!, health: health!, spare: spare!, s3: s3! };
    exports = '[{ path: /export, clients: [127.0.0.1/32], squash: none }]';
    shares = '[{ name: export, path: /export }]';
    write();
    writeFileSync(sample(), 'seven bytes\n');
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', file], { name: 'gateway' });
    await gw.waitForLine(/gateway started/, 60_000);
    const added = await runCommand(
      CFS,
      ['user', 'add', 'bob', '--uid', '2301', '--password-stdin', '--config', file],
      {
        input: `${PASSWORD}\n`,
        timeoutMs: 60_000,
      },
    );
    equal(added.code, 0, added.output);
  });
  after(() => gw?.stop());

  test('1 the file unchanged: nothing changed, exit 0', async () => {
    const out = await reload();
    match(out, new RegExp(`configuration reloaded from ${file}\nno setting changed`));
  });

  test("1b a level set with ./cfs gateway log-level goes back to the file's, and the reload says so", async () => {
    const set = await cfs('gateway', 'log-level', 'debug');
    equal(set.code, 0, set.output);
    match(await reload(), /applied now:\n {2}log_level: debug -> info\n/);
  });

  test('2 an export made read-only refuses writes at once and still serves reads; a bind change waits for a restart', async () => {
    const before = await nfs('nfs-cp', sample(), nfsUrl('/export/a.txt'));
    equal(before.code, 0, before.output);
    exports = '[{ path: /export, clients: [127.0.0.1/32], squash: none, access: ro }]';
    const nfsBind = `127.0.0.1:${ports.nfs}`;
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(`bind: ${nfsBind}`, `bind: 127.0.0.1:${ports.spare}`),
    );
    const text = readFileSync(file, 'utf8').replace(/exports: .*/, `exports: ${exports}`);
    writeFileSync(file, text);
    // A dry run says what would change and changes nothing: the export still takes writes.
    const dry = await cfs('gateway', 'reload', '--dry-run');
    equal(dry.code, 0, dry.output);
    match(
      dry.stdout,
      /^dry run: nothing changed; a reload of .* now\nwould apply at once:\n {2}nfs\.exports\.0\.access: rw -> ro\n/,
    );
    match(dry.stdout, /would wait for a restart[^\n]*\n {2}nfs\.bind: /);
    const still = await nfs('nfs-cp', sample(), nfsUrl('/export/dry.txt'));
    equal(still.code, 0, still.output);
    const out = await reload();
    match(out, /applied now:\n {2}nfs\.exports\.0\.access: rw -> ro\n/);
    match(
      out,
      new RegExp(
        `waiting for a restart[^\n]*\n {2}nfs\\.bind: ${nfsBind} -> 127\\.0\\.0\\.1:${ports.spare}\n`,
      ),
    );
    await gw.waitForLine(/nfs\.bind: .* takes effect at the next restart/, 10_000);

    // The running listener is the old one; the new port is not served.
    const refused = await nfs('nfs-cp', sample(), nfsUrl('/export/b.txt'));
    ok(refused.code !== 0, refused.output);
    match(refused.output, /NFS3ERR_ROFS/);
    const read = await nfs('nfs-cat', nfsUrl('/export/a.txt'));
    equal(read.code, 0, read.output);
    equal(read.stdout, 'seven bytes\n');
    const elsewhere = await nfs('nfs-ls', nfsUrl('/export', ports.spare));
    ok(elsewhere.code !== 0, 'nothing listens on the new port before a restart');
    // Back to the running port, so later reloads report no pending restart for it.
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(`bind: 127.0.0.1:${ports.spare}`, `bind: ${nfsBind}`),
    );
  });

  test('3 a new export is mounted at once; a client taken off an export is refused MNT', async () => {
    exports =
      '[{ path: /export, clients: [10.9.0.0/16] }, { path: /projects, clients: [127.0.0.1/32], squash: none }]';
    write();
    const out = await reload();
    match(out, /nfs\.exports\.0\.clients: 127\.0\.0\.1\/32 -> 10\.9\.0\.0\/16/);
    match(out, /nfs\.exports\.1: \(none\) -> \/projects \(rw, clients 127\.0\.0\.1\/32, squash none\)/);
    const copied = await nfs('nfs-cp', sample(), nfsUrl('/projects/p.txt'));
    equal(copied.code, 0, copied.output);
    const listed = await nfs('nfs-ls', nfsUrl('/projects'));
    equal(listed.code, 0, listed.output);
    match(listed.stdout, /p\.txt/);
    const refused = await nfs('nfs-ls', nfsUrl('/export'));
    ok(refused.code !== 0, refused.output);
    match(refused.output, /MNT3ERR_ACCES|[Pp]ermission denied/);
  });

  test('4 shares: a new one is listed and served; read_only applies to an open session; valid_groups ends its tree', async () => {
    shares = '[{ name: export, path: /export }, { name: team, path: /team }]';
    write();
    match(await reload(), /smb\.shares\.1: \(none\) -> team = \/team/);
    const list = await runCommand(
      mustToolPath('smbclient'),
      ['-p', String(ports.smb), '-L', '//127.0.0.1', '-U', `bob%${PASSWORD}`],
      { timeoutMs: 30_000 },
    );
    match(list.stdout, /^\s+team\s+Disk/m);
    const put = await smb('team', `put ${sample()} t.txt`);
    equal(put.code, 0, put.output);

    // One smbclient session across two reloads: its commands go in only once the last answered.
    // stdbuf: smbclient's answers on a pipe would otherwise wait in its stdout buffer.
    const session = new Interactive(
      spawn(mustToolPath('stdbuf'), [
        '-oL',
        mustToolPath('smbclient'),
        '-p',
        String(ports.smb),
        '//127.0.0.1/team',
        '-U',
        `bob%${PASSWORD}`,
      ]),
    );
    try {
      await session.run(`put ${sample()} before.txt`, /putting file .* as \\before\.txt/);
      shares = '[{ name: export, path: /export }, { name: team, path: /team, read_only: true }]';
      write();
      match(await reload(), /smb\.shares\.1\.read_only: false -> true/);
      await session.run(
        `put ${sample()} after.txt`,
        /NT_STATUS_ACCESS_DENIED opening remote file \\after\.txt/,
      );
      await session.run('ls', /before\.txt/);

      shares = '[{ name: export, path: /export }, { name: team, path: /team, valid_groups: [nobody-here] }]';
      write();
      match(await reload(), /smb\.shares\.1\.valid_groups: \(none\) -> nobody-here/);
      await gw.waitForLine(
        /SMB tree connect to team ended by a reload: bob is in none of its valid_groups/,
        10_000,
      );
      await session.run('ls', /NT_STATUS_NETWORK_NAME_DELETED/);
    } finally {
      session.close();
    }
    const denied = await smb('team', 'ls');
    ok(denied.code !== 0);
    match(denied.output, /NT_STATUS_ACCESS_DENIED/);
  });

  test('5 a file with an error changes nothing: 422 with file, line and key; ./cfs exits 2', async () => {
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('log_level: info', 'log_level: chatty'));
    const res = await fetch(`http://127.0.0.1:${ports.health}/admin/config/reload`, { method: 'POST' });
    equal(res.status, 422);
    const body = (await res.json()) as { ok: boolean; problems: string[] };
    equal(body.ok, false);
    match(body.problems[0]!, new RegExp(`${file}:2:\\d+ log_level: `));
    await gw.waitForLine(/reload refused; keeping the running configuration/, 10_000);
    const preview = await fetch(`http://127.0.0.1:${ports.health}/admin/config/preview`);
    equal(preview.status, 422);
    match(((await preview.json()) as { problems: string[] }).problems[0]!, /log_level/);
    const cli = await cfs('gateway', 'reload');
    equal(cli.code, 2, cli.output);
    match(cli.stderr, /gateway\.yaml:2:\d+ log_level/);
    match(cli.stderr, /nothing reloaded: the gateway keeps its running configuration/);
    // Still the running exports and shares.
    const copied = await nfs('nfs-cp', sample(), nfsUrl('/projects/q.txt'));
    equal(copied.code, 0, copied.output);
    const status = (await (await fetch(`http://127.0.0.1:${ports.health}/admin/config`)).json()) as {
      lastReload: { problems?: string[] };
    };
    match(status.lastReload.problems?.[0] ?? '', /log_level/);
    // While the file is being fixed, what only calls the gateway still reaches it, saying so.
    const smbStatus = await cfs('smb', 'status', '--json');
    equal(smbStatus.code, 0, smbStatus.output);
    JSON.parse(smbStatus.stdout);
    match(
      smbStatus.stderr,
      /warning: .*gateway\.yaml has 1 error .*reached by node\.state_dir and health\.bind alone/,
    );
    equal((await cfs('locks')).code, 0);
    // What needs the whole file does not.
    equal((await cfs('smb', 'shares')).code, 2);
    writeFileSync(file, good);
  });

  test('5b the file gone: SIGHUP and the API refuse with the reason, and the gateway keeps serving', async () => {
    const away = `${file}.away`;
    renameSync(file, away);
    try {
      process.kill(gw.pid, 'SIGHUP');
      await gw.waitForLine(/reload refused; keeping the running configuration: .*does not exist/, 10_000);
      const res = await fetch(`http://127.0.0.1:${ports.health}/admin/config/reload`, { method: 'POST' });
      equal(res.status, 422);
      match(((await res.json()) as { problems: string[] }).problems[0]!, /gateway\.yaml does not exist/);
      const copied = await nfs('nfs-cp', sample(), nfsUrl('/projects/still.txt'));
      equal(copied.code, 0, copied.output);
    } finally {
      renameSync(away, file);
    }
  });

  test('5c a file truncated while being written (empty, or comments only): refused, nothing opened to every host', async () => {
    const good = readFileSync(file, 'utf8');
    try {
      for (const text of ['', '# being rewritten\n']) {
        writeFileSync(file, text);
        const from = gw.stdout().length;
        process.kill(gw.pid, 'SIGHUP');
        const deadline = Date.now() + 10_000;
        while (
          !/reload refused; keeping the running configuration: .*the file sets no key/.test(
            gw.stdout().slice(from),
          )
        ) {
          ok(Date.now() < deadline, `no refusal logged:\n${gw.stdout().slice(from)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        ok(!/applied nfs\.exports/.test(gw.stdout().slice(from)), 'an export changed');
        const cli = await cfs('gateway', 'reload');
        equal(cli.code, 2, cli.output);
        match(
          cli.stderr,
          /gateway\.yaml:1:1:? .*the file sets no key: .*refused: a reload needs the whole file/,
        );
      }
      // The file as it was still rules: /projects (not 0.0.0.0/0, not /export) is served.
      const copied = await nfs('nfs-cp', sample(), nfsUrl('/projects/after-empty.txt'));
      equal(copied.code, 0, copied.output);
      // /export is still for 10.9.0.0/16 only: the defaults would have opened it to every host.
      const listed = await nfs('nfs-ls', nfsUrl('/export'));
      ok(listed.code !== 0, listed.output);
    } finally {
      writeFileSync(file, good);
    }
  });

  test("5d ./cfs checks it reaches this file's gateway: a staged copy is not reloaded in its place, a copied health.bind reaches nobody else's, a changed one says where the gateway is", async () => {
    const good = readFileSync(file, 'utf8');
    const other = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return (...args: string[]) => runCommand(CFS, [...args, '--config', path], { timeoutMs: 60_000 });
    };
    // A staged copy, edited: the gateway would read its own file, so nothing is sent.
    const staged = other('staged.yaml', good.replace('log_level: info', 'log_level: warn'));
    const refused = await staged('gateway', 'reload');
    equal(refused.code, 2, refused.output);
    match(
      refused.stderr,
      new RegExp(`the gateway runs from ${file} and a reload reads that file, not ${dir}/staged\\.yaml`),
    );
    match(refused.stderr, /nothing reloaded/);
    equal(
      ((await (await fetch(`http://127.0.0.1:${ports.health}/admin/config`)).json()) as { logLevel: string })
        .logLevel,
      'info',
    );
    // Another gateway's file that kept this one's health.bind: its drain must not drain this one.
    mkdirSync(join(dir, 'state-twin'), { recursive: true });
    const twin = other('twin.yaml', good.replace(`state_dir: ${dir}/state`, `state_dir: ${dir}/state-twin`));
    const drain = await twin('gateway', 'drain', '--timeout', '3s');
    equal(drain.code, 2, drain.output);
    match(
      drain.stderr,
      new RegExp(
        `serves state folder ${dir}/state \\(PID ${gw.pid}, file ${file}\\), not this file's ${dir}/state-twin`,
      ),
    );
    equal((await fetch(`http://127.0.0.1:${ports.health}/health`)).status, 200, 'not drained');
    // This gateway's file with health.bind moved (waiting for a restart): it is running, elsewhere.
    const moved = other('moved.yaml', good.replace(`127.0.0.1:${ports.health}`, `127.0.0.1:${ports.spare}`));
    const status = await moved('smb', 'status');
    equal(status.code, 1, status.output);
    match(
      status.stderr,
      new RegExp(
        `the gateway on ${dir}/state \\(PID ${gw.pid}\\) does not answer on http://127\\.0\\.0\\.1:${ports.spare}`,
      ),
    );
  });

  test('6 SIGHUP does the same and logs each change', async () => {
    exports = '[{ path: /projects, clients: [127.0.0.1/32], squash: none, access: ro }]';
    write();
    process.kill(gw.pid, 'SIGHUP');
    await gw.waitForLine(/"trigger":"SIGHUP".*configuration reloaded: 2 changes applied, 0 waiting/, 10_000);
    match(
      gw.stdout(),
      /applied nfs\.exports: \/export \(rw, clients 10\.9\.0\.0\/16, squash root\) -> \(removed\)/,
    );
    const refused = await nfs('nfs-cp', sample(), nfsUrl('/projects/r.txt'));
    match(refused.output, /NFS3ERR_ROFS/);
  });

  test('6b s3.public_read_buckets applies to the next anonymous GET (curl)', async () => {
    const put = await smb('export', `mkdir pub; put ${sample()} pub/obj.txt`);
    equal(put.code, 0, put.output);
    const get = () =>
      runCommand(
        mustToolPath('curl'),
        ['-s', '-w', '\n%{http_code}', `http://127.0.0.1:${ports.s3}/pub/obj.txt`],
        {
          timeoutMs: 30_000,
        },
      );
    match((await get()).stdout, /AccessDenied[\s\S]*\n403$/);
    publicBuckets = 'pub';
    write();
    match(await reload(), /s3\.public_read_buckets: \(none\) -> pub/);
    equal((await get()).stdout, 'seven bytes\n\n200');
    publicBuckets = '';
    write();
    match(await reload(), /s3\.public_read_buckets: pub -> \(none\)/);
    match((await get()).stdout, /\n403$/);
  });

  test('7 every reload asked through the admin API is audited with what it changed, or why it was refused', async () => {
    const cp = await openControlPlane({ stateDir: join(dir, 'state') });
    try {
      const entries = (await cp.audit.list({ limit: 100 })).filter(
        (e) => e.action === 'gateway.config.reload',
      );
      const readOnly = /"setting":"nfs\.exports\.0\.access","from":"rw","to":"ro"/;
      const done = entries.find((e) => e.outcome === 'ok' && readOnly.test(JSON.stringify(e.detail)));
      ok(done, JSON.stringify(entries));
      match(done.actor, /^cli:/, './cfs gateway reload is audited as its user');
      equal(done.target, 'gateway');
      match(JSON.stringify(done.detail), /"pendingRestart":\[\{"setting":"nfs\.bind"/);
      const refusals = entries.filter((e) => e.outcome === 'error').map((e) => JSON.stringify(e.detail));
      ok(
        refusals.some((d) => /log_level/.test(d)),
        refusals.join('\n'),
      );
      ok(
        refusals.some((d) => /does not exist/.test(d)),
        refusals.join('\n'),
      );
    } finally {
      await cp.close();
    }
  });
});

/** An smbclient reading commands from a pipe: each command waits for its answer. */
class Interactive {
  private out = '';
  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
  }

  async run(command: string, expect: RegExp, timeoutMs = 20_000): Promise<void> {
    const from = this.out.length;
    this.child.stdin.write(`${command}\n`);
    const deadline = Date.now() + timeoutMs;
    while (!expect.test(this.out.slice(from))) {
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`smbclient: no ${expect} after '${command}':\n${this.out.slice(from)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

describe('a reload of a gateway started with flags', requireTools('openssl'), () => {
  test('1 s3.tls edited in the file while --tls-cert/--tls-key hold it: the reload says the flags keep theirs, not "no setting changed" alone', async () => {
    const dir = makeTempDir('reload-flags');
    const file = join(dir, 'gateway.yaml');
    const [s3, health] = (await freePorts(2)) as [number, number];
    const [flagged, edited] = ['flagged', 'edited'].map((name) => {
      mkdirSync(join(dir, name));
      return selfSignedCert(join(dir, name));
    }) as [{ cert: string; key: string }, { cert: string; key: string }];
    const text = `node: { name: gw-flags, state_dir: ${dir}/state }
log_level: info
s3: { bind: 127.0.0.1:${s3}, root: /export }
health: { bind: 127.0.0.1:${health}, probe_interval: 1h }
`;
    writeFileSync(file, text);
    const gw = spawnProcess(
      CFS,
      ['gateway', 'start', 's3', '--config', file, '--tls-cert', flagged.cert, '--tls-key', flagged.key],
      { name: 'gateway' },
    );
    try {
      await gw.waitForLine(/gateway started/, 60_000);
      writeFileSync(
        file,
        text.replace('root: /export }', `root: /export, tls: { cert: ${edited.cert}, key: ${edited.key} } }`),
      );
      const r = await runCommand(CFS, ['gateway', 'reload', '--config', file], { timeoutMs: 60_000 });
      equal(r.code, 0, r.output);
      match(
        r.stdout,
        new RegExp(
          `not taken from ${file}: a flag given at start overrides it \\(restart without the flag to use the file's value\\):\\n  s3\\.tls: the file says .*${edited.cert}.*; the flag keeps .*${flagged.cert}`,
        ),
      );
      await gw.waitForLine(/s3\.tls in .* but the flag given at start keeps/, 10_000);
    } finally {
      await gw.stop();
    }
  });
});
