import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MountProc, Mountstat3 } from '../../src/protocols/mount/codec.ts';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import type { RpcReply } from '../../src/protocols/rpc/message.ts';
import type { RpcCred } from '../../src/protocols/rpc/program.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { ROOT } from '../../src/storage/types.ts';
import { capturedLog } from '../support/log.ts';
import { type NfsGateway, startNfsGateway } from './fixture.ts';

const SYS: RpcCred = { flavor: 'sys', stamp: 0, machine: 'tester', uid: 0, gid: 0, gids: [] };

function results(r: RpcReply): XdrReader {
  if (r.status !== 'accepted' || r.stat !== AcceptStat.SUCCESS)
    throw new Error(`not a SUCCESS: ${JSON.stringify(r)}`);
  return r.results;
}

function dirpath(path: string): Buffer {
  return new XdrWriter().string(path).toBuffer();
}

interface Mounted {
  status: number;
  fh?: Buffer;
  flavors?: number[];
}

function decodeMnt(r: XdrReader): Mounted {
  const status = r.uint32('status');
  if (status !== 0) return { status };
  const fh = Buffer.from(r.opaque(64, 'fh'));
  const flavors = r.array(16, 'flavors', () => r.uint32('f'));
  r.end('mountres3');
  return { status, fh, flavors };
}

/** exports / mountlist as plain arrays. */
function decodeExports(r: XdrReader): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  while (r.bool('more')) {
    const dir = r.string(1024, 'dir');
    const groups: string[] = [];
    while (r.bool('g')) groups.push(r.string(255, 'group'));
    out.push([dir, groups]);
  }
  r.end('exports');
  return out;
}

function decodeMountList(r: XdrReader): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  while (r.bool('more')) out.push([r.string(255, 'host'), r.string(1024, 'dir')]);
  r.end('mountlist');
  return out;
}

describe('MOUNT v3 against a gateway', () => {
  let g: NfsGateway;
  let mount: RpcClient;
  let nfs: RpcClient;
  let subIno: bigint;
  let exportIno: bigint;
  const ops: Array<[string, string | undefined]> = [];
  const cap = capturedLog();

  before(async () => {
    g = await startNfsGateway({
      logger: cap.log,
      logLevel: 'info',
      exports: [
        '{ path: /export }',
        '{ path: /private, clients: [10.0.0.0/8, "fd00::/8"] }',
        '{ path: /byname, clients: [localhost] }',
        '{ path: /bypattern, clients: ["*.nowhere.invalid"] }',
      ],
    });
    g.gw.connections.observers.push({ request: (_p, op, _s, code) => ops.push([op, code]) });
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    exportIno = exp.ino;
    subIno = (await g.gw.ns.mkdir(ROOT, exp.ino, 'sub', 0o755)).ino;
    await g.gw.ns.create(ROOT, exp.ino, 'file.txt', 0o644);
    mount = await RpcClient.connect('127.0.0.1', g.mountPort);
    nfs = await RpcClient.connect('127.0.0.1', g.nfsPort);
  });
  after(async () => {
    mount?.close();
    nfs?.close();
    await g?.stop();
  });

  const mnt = async (path: string): Promise<Mounted> =>
    decodeMnt(
      results(
        await mount.call({ prog: 100005, vers: 3, proc: MountProc.MNT, cred: SYS, args: dirpath(path) }),
      ),
    );

  /** GETATTR over NFS: the fileid the handle names. */
  async function fileidOf(fh: Buffer): Promise<bigint> {
    const args = new XdrWriter().opaque(fh).toBuffer();
    const r = results(await nfs.call({ prog: 100003, vers: 3, proc: 1, cred: SYS, args }));
    equal(r.uint32('status'), 0);
    r.uint32('type');
    r.uint32('mode');
    r.uint32('nlink');
    r.uint32('uid');
    r.uint32('gid');
    r.uint64('size');
    r.uint64('used');
    r.uint32('rdev1');
    r.uint32('rdev2');
    r.uint64('fsid');
    return r.uint64('fileid');
  }

  test('1 MNT of the export: its root handle and [AUTH_SYS]; the NFS program takes the handle', async () => {
    const m = await mnt('/export');
    equal(m.status, Mountstat3.OK);
    deepEqual(m.flavors, [1]);
    equal(await fileidOf(m.fh!), exportIno);
  });

  test('2 MNT of a directory below the export, in any spelling: that directory', async () => {
    const a = await mnt('/export/sub');
    equal(a.status, Mountstat3.OK);
    equal(await fileidOf(a.fh!), subIno);
    for (const spelling of ['/export/sub/', '//export//sub']) deepEqual((await mnt(spelling)).fh, a.fh);
  });

  test('3 refusals: NOENT, NOTDIR, ACCES (not exported), INVAL (not absolute, ..)', async () => {
    const cases: Array<[number, string, number]> = [
      [1, '/export/missing', Mountstat3.NOENT],
      [2, '/export/file.txt', Mountstat3.NOTDIR],
      [3, '/export/file.txt/x', Mountstat3.NOTDIR],
      [4, '/elsewhere', Mountstat3.ACCES],
      [5, '/exporter', Mountstat3.ACCES],
      [6, 'export', Mountstat3.INVAL],
      [7, '/export/../private', Mountstat3.INVAL],
    ];
    for (const [row, path, status] of cases) equal((await mnt(path)).status, status, `row ${row}: ${path}`);
    ok(
      cap.logged(
        'MOUNT of /elsewhere refused to 127.0.0.1: no export contains it (nfs.exports: /export, /private, /byname, /bypattern)',
      ),
      cap.lines.join(''),
    );
  });

  test('4 the client list: a CIDR the client is outside is ACCES; a host name resolving to it mounts; a pattern its name misses is ACCES', async () => {
    equal((await mnt('/private')).status, Mountstat3.ACCES);
    equal((await mnt('/byname')).status, Mountstat3.OK);
    equal((await mnt('/bypattern')).status, Mountstat3.ACCES);
    // A warning naming the list that refused it (rpc.mountd: "refused mount request … no match").
    const refusal = cap.lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.msg.startsWith('MOUNT of /private refused'));
    deepEqual(
      [refusal?.level, refusal?.msg],
      [
        40,
        'MOUNT of /private refused to 127.0.0.1: not in the clients of export /private (10.0.0.0/8, fd00::/8)',
      ],
    );
    ok(
      ops.some(([op, code]) => op === 'MNT' && code === 'MNT3ERR_ACCES'),
      JSON.stringify(ops),
    );
  });

  test('5 DUMP lists what MNT recorded; UMNT and UMNTALL remove it', async () => {
    const dump = async () =>
      decodeMountList(results(await mount.call({ prog: 100005, vers: 3, proc: MountProc.DUMP, cred: SYS })));
    await mnt('/export');
    ok((await dump()).some(([h, d]) => h === '127.0.0.1' && d === '/export'));
    results(
      await mount.call({ prog: 100005, vers: 3, proc: MountProc.UMNT, cred: SYS, args: dirpath('/export') }),
    );
    ok(!(await dump()).some(([, d]) => d === '/export'));
    equal((await dump()).length > 0, true);
    results(await mount.call({ prog: 100005, vers: 3, proc: MountProc.UMNTALL, cred: SYS }));
    deepEqual(await dump(), []);
  });

  test('6 EXPORT over v3 and v1 (showmount); v1 MNT is PROC_UNAVAIL; v4 is PROG_MISMATCH 1..3', async () => {
    const v3 = decodeExports(results(await mount.call({ prog: 100005, vers: 3, proc: MountProc.EXPORT })));
    deepEqual(v3, [
      ['/export', ['0.0.0.0/0']],
      ['/private', ['10.0.0.0/8', 'fd00::/8']],
      ['/byname', ['localhost']],
      ['/bypattern', ['*.nowhere.invalid']],
    ]);
    deepEqual(
      decodeExports(results(await mount.call({ prog: 100005, vers: 1, proc: MountProc.EXPORT }))),
      v3,
    );
    const v1mnt = await mount.call({ prog: 100005, vers: 1, proc: MountProc.MNT, args: dirpath('/export') });
    equal(v1mnt.status === 'accepted' && v1mnt.stat, AcceptStat.PROC_UNAVAIL);
    const v4 = await mount.call({ prog: 100005, vers: 4, proc: 0 });
    deepEqual(v4.status === 'accepted' && v4.mismatch, { low: 1, high: 3 });
  });
});
