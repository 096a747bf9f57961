import { equal, match, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MountProc } from '../../src/protocols/mount/codec.ts';
import { decodeRes, encodeLockArgs, Nlm4Stat, NlmProc } from '../../src/protocols/nlm/codec.ts';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import type { RpcCred } from '../../src/protocols/rpc/program.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { capturedLog } from '../support/log.ts';
import { runCommand } from '../support/proc.ts';
import { mustToolPath, requireTools } from '../support/tools.ts';
import { type NfsGateway, startNfsGateway } from './fixture.ts';

const SYS: RpcCred = { flavor: 'sys', stamp: 0, machine: 'tester', uid: 0, gid: 0, gids: [] };
const NFS3ERR_PERM = 1;
/** Binding a port below 1024 takes root, as on any NFS client. */
const ROOT_ONLY = process.getuid?.() === 0 ? {} : { skip: 'binding a port below 1024 needs root' };
/** libnfs run as nobody: it calls from an unprivileged port (as root it binds one below 1024). */
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * An export's `secure` (exports(5)): MOUNT and NFS calls only from ports below 1024, which only
 * a client's root can bind — so an unprivileged user on a client host cannot forge AUTH_SYS ids.
 * libnfs as root (a privileged port) and as nobody (not), and a hand-made client on either.
 */
describe('NFS exports with secure: privileged client ports only', () => {
  let g: NfsGateway;
  const { log, logged, lines } = capturedLog();

  before(async () => {
    g = await startNfsGateway({
      exports: ['{ path: /export, squash: none }', '{ path: /guarded, secure: true, squash: none }'],
      logger: log,
    });
  });
  after(() => g?.stop());

  const nfsLs = (path: string, prefix: readonly string[] = []) => {
    const cmd = [...prefix, mustToolPath('nfs-ls'), g.url(path)];
    return runCommand(cmd[0]!, cmd.slice(1), { timeoutMs: 30_000 });
  };

  test('1 libnfs as root mounts and lists the secure export; as nobody it is refused (MNT3ERR_ACCES) with a log line', {
    ...requireTools('nfs-ls', 'setpriv'),
    ...ROOT_ONLY,
  }, async () => {
    equal((await nfsLs('/guarded')).code, 0);
    const nobody = await nfsLs('/guarded', AS_NOBODY);
    ok(nobody.code !== 0, nobody.output);
    match(nobody.output, /MNT3ERR_ACCES/);
    ok(logged('MOUNT of /guarded refused to 127.0.0.1:'), lines.join(''));
    ok(logged('unprivileged port (the export is secure)'));
    const open = await nfsLs('/export', AS_NOBODY);
    equal(open.code, 0, `an export without secure takes any port: ${open.output}`);
  });

  test(
    '2 a handle of the secure export used from an unprivileged port: NFS3ERR_PERM, NLM4_FAILED; from a privileged one: answered',
    ROOT_ONLY,
    async () => {
      const mount = await connectFromPrivilegedPort(g.mountPort);
      let fh: Buffer;
      try {
        const r = await mount.call({
          prog: 100005,
          vers: 3,
          proc: MountProc.MNT,
          cred: SYS,
          args: new XdrWriter().string('/guarded').toBuffer(),
        });
        ok(r.status === 'accepted' && r.stat === AcceptStat.SUCCESS);
        equal(r.results.uint32('status'), 0);
        fh = Buffer.from(r.results.opaque(64, 'fh'));
      } finally {
        mount.close();
      }
      const getattr = async (client: RpcClient) => {
        const r = await client.call({
          prog: 100003,
          vers: 3,
          proc: 1,
          cred: SYS,
          args: new XdrWriter().opaque(fh).toBuffer(),
        });
        ok(r.status === 'accepted' && r.stat === AcceptStat.SUCCESS);
        return r.results.uint32('status');
      };
      const lock = async (client: RpcClient, svid: number) => {
        const args = encodeLockArgs({
          cookie: Buffer.from('c'),
          block: false,
          exclusive: true,
          lock: { callerName: 'tester', fh, oh: Buffer.from(`o${svid}`), svid, offset: 0n, length: 1n },
          reclaim: false,
          state: 1,
        });
        const r = await client.call({ prog: 100021, vers: 4, proc: NlmProc.LOCK, cred: SYS, args });
        ok(r.status === 'accepted' && r.stat === AcceptStat.SUCCESS);
        return decodeRes(r.results).stat;
      };
      const high = await RpcClient.connect('127.0.0.1', g.nfsPort);
      const low = await connectFromPrivilegedPort(g.nfsPort);
      try {
        ok(high.socket.localPort! >= 1024);
        equal(await getattr(high), NFS3ERR_PERM);
        equal(await getattr(low), 0);
        equal(await lock(high, 1), Nlm4Stat.FAILED, 'NLM has no "permission denied"');
        equal(await lock(low, 2), Nlm4Stat.GRANTED);
      } finally {
        high.close();
        low.close();
      }
    },
  );
});

/** An RPC client calling from a free port between 600 and 1023, as a client's root would. */
async function connectFromPrivilegedPort(port: number): Promise<RpcClient> {
  for (let local = 600 + Math.floor(Math.random() * 300); local < 1024; local++) {
    try {
      return await RpcClient.connect('127.0.0.1', port, { localPort: local });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
  throw new Error('no free port below 1024');
}
