import type { Protocol } from '../../config/types.ts';
import type { Listener, ProtocolContext, ProtocolServer } from '../../daemon/protocol-server.ts';
import type { HealthCheck } from '../../ops/health.ts';
import { fsError } from '../../storage/errors.ts';
import { ClientAccess, insecurePort } from '../client-access.ts';
import { MOUNT_PROG } from '../mount/codec.ts';
import { MountTable } from '../mount/mount-table.ts';
import { servedMountProgram } from '../mount/program.ts';
import { portmapGrantedCallback } from '../nlm/callback.ts';
import { NLM_PROG, NLM_VERS } from '../nlm/codec.ts';
import { type GrantedCallback, NlmLockManager } from '../nlm/lock-manager.ts';
import { createNsmProgram } from '../nlm/nsm.ts';
import { NSM_PROG, NSM_VERS } from '../nlm/nsm-codec.ts';
import { createNlmProgram } from '../nlm/program.ts';
import type { PortMapping } from '../portmap/codec.ts';
import { LOCAL_PORTMAPPER, PortmapRegistrar, type PortmapTarget } from '../portmap/registrar.ts';
import { rpcCallOnce } from '../rpc/client.ts';
import { AcceptStat, IPPROTO_TCP, Programs } from '../rpc/constants.ts';
import type { ServedProgram } from '../rpc/dispatch.ts';
import { DuplicateRequestCache } from '../rpc/drc.ts';
import { RpcListener } from '../rpc/listener.ts';
import { NfsHandles } from './v3/handle.ts';
import { createNfsV3Program, statusName } from './v3/program.ts';

/** How long stop() lets calls in flight finish before closing their connections. */
const STOP_GRACE_MS = 10_000;
const PROBE_TIMEOUT_MS = 1500;

export interface NfsServerOptions {
  /** The portmapper to register with (127.0.0.1:111); false: none (tests running many gateways). */
  portmapper?: PortmapTarget | false;
  /** How NLM tells a client its blocked lock was granted (default: its portmapper, then GRANTED). */
  grantedCallback?: GrantedCallback;
  stopGraceMs?: number;
}

/**
 * The NFS protocol server: the NFS listener on `nfs.bind` serving NFS v3 (100003), NLM v4
 * (100021) and NSM v1 (100024), and the MOUNT listener on `nfs.mount_bind` serving MOUNT
 * (100005). Programs are registered with rpcbind when one runs, and unregistered on stop.
 */
export class NfsServer implements ProtocolServer {
  readonly protocol: Protocol = 'nfs';
  private nfs: RpcListener | undefined;
  private mount: RpcListener | undefined;
  private registrar: PortmapRegistrar | undefined;
  private locks: NlmLockManager | undefined;
  readonly mounts = new MountTable();
  private accepting = true;
  private handles: NfsHandles | undefined;
  private stopping = false;

  constructor(
    private readonly ctx: ProtocolContext,
    private readonly options: NfsServerOptions = {},
  ) {}

  async start(): Promise<Listener[]> {
    const { config, ns, control, connections, log } = this.ctx;
    const exports = config.nfs.exports;
    const handles = new NfsHandles(control.secrets.nfsHandleKey, ns, exports);
    // One client check for MNT, every NFS call and NLM: networks, host names and patterns.
    const clients = new ClientAccess();
    const nfsProgram = createNfsV3Program({ ns, exports, handles, log, clients });
    const nfs: ServedProgram = {
      program: nfsProgram,
      // Every NFSv3 result but NULL's starts with its nfsstat3 (RFC 1813 §3.3).
      resultStatus: (_vers, proc, result) => {
        if (proc === 0) return undefined;
        const status = result.uint32('nfsstat3');
        return status === 0 ? undefined : statusName(status);
      },
    };
    this.handles = handles;
    const mount = servedMountProgram({
      ns,
      exports: handles.exports,
      access: clients,
      handleOf: (exportIndex, dir) => handles.encodeHandle(exportIndex, dir),
      mounts: this.mounts,
      log,
    });
    const locks = new NlmLockManager(
      ns.locks,
      this.options.grantedCallback ?? portmapGrantedCallback(log),
      log,
      (ino) => ns.caching.recall(ino),
    );
    this.locks = locks;
    const nlm = createNlmProgram({
      manager: locks,
      inodeOf: async (fh, { remoteAddress, remotePort }) => {
        const ref = handles.decodeHandle(fh);
        const exp = handles.exports[ref.exportIndex];
        if (!exp) throw fsError('ESTALE', 'handle of an export no longer served');
        if (insecurePort(exp, remotePort))
          throw fsError(
            'EACCES',
            `${exp.path} is secure and ${remoteAddress}:${remotePort} is not a privileged port`,
          );
        if (!(await clients.allowed(exp, remoteAddress))) {
          throw fsError('EACCES', `${remoteAddress} is not a client of ${exp.path}`);
        }
        return (await ns.getattr(ref)).ino;
      },
      log,
    });
    const nsm = createNsmProgram({ onReboot: (name) => locks.releaseClient(name), log });

    const drc = new DuplicateRequestCache();
    const common = { protocol: 'nfs' as const, connections, log, drc };
    this.nfs = new RpcListener({
      ...common,
      name: 'NFS',
      host: config.nfs.bind.host,
      port: config.nfs.bind.port,
      programs: [nfs, nlm, nsm],
    });
    this.mount = new RpcListener({
      ...common,
      name: 'MOUNT',
      host: config.nfs.mountBind.host,
      port: config.nfs.mountBind.port,
      programs: [mount],
    });
    await this.nfs.listen();
    try {
      await this.mount.listen();
    } catch (e) {
      await this.nfs.close(0);
      throw e;
    }

    if (this.options.portmapper !== false) {
      this.registrar = new PortmapRegistrar(log, this.options.portmapper ?? LOCAL_PORTMAPPER);
      await this.registrar.register(this.mappings());
    }
    return [
      { name: 'NFS', address: this.nfs.address },
      { name: 'MOUNT', address: this.mount.address },
    ];
  }

  /** What rpcbind is told: what `rpcinfo -p` lists and `showmount` (MOUNT v1) looks up. */
  private mappings(): PortMapping[] {
    const nfsPort = this.nfs!.port;
    const mountPort = this.mount!.port;
    const tcp = (prog: number, vers: number, port: number) => ({ prog, vers, prot: IPPROTO_TCP, port });
    return [
      tcp(Programs.NFS, 3, nfsPort),
      tcp(MOUNT_PROG, 1, mountPort),
      tcp(MOUNT_PROG, 3, mountPort),
      tcp(NLM_PROG, NLM_VERS, nfsPort),
      tcp(NSM_PROG, NSM_VERS, nfsPort),
    ];
  }

  /** The ports actually bound (the configured ones, or the kernel's picks for port 0). */
  get ports(): { nfs: number; mount: number } | undefined {
    return this.nfs && this.mount ? { nfs: this.nfs.port, mount: this.mount.port } : undefined;
  }

  /**
   * A reload: exports take their new settings for every later call (access, clients, squash),
   * new ones can be mounted, removed ones answer MNT3ERR_ACCES and their handles NFS3ERR_STALE.
   */
  reload(): void {
    this.handles?.reconfigure(this.ctx.config.nfs.exports);
  }

  async setAccepting(accepting: boolean): Promise<void> {
    if (this.stopping || accepting === this.accepting) return;
    this.accepting = accepting;
    await Promise.all(
      [this.nfs, this.mount].map((l) =>
        l
          ?.setAccepting(accepting)
          .catch((e: unknown) =>
            this.ctx.log.error({ err: e, listener: l.name }, `${l.name} listener could not resume accepting`),
          ),
      ),
    );
  }

  /** NLM requests waiting for a lock (0 before start). */
  get waitingLocks(): number {
    return this.locks?.blockedCount ?? 0;
  }

  /**
   * An operator's release of a departed NFS client's locks (`./cfs locks release`): what its
   * reboot notice would do — every lock it holds and every request it has waiting. Returns the
   * locks released, or undefined when the client held and awaited none.
   */
  releaseLockClient(client: string): number | undefined {
    const locks = this.locks;
    if (!locks) return undefined;
    const waiting = locks.blockedOf(client);
    const released = locks.releaseClient(client);
    if (released === 0 && waiting === 0) return undefined;
    this.ctx.log.info(
      { client, released, waiting },
      `NFS client ${client}: ${released} locks released and ${waiting} waiting requests dropped by an operator`,
    );
    return released;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const grace = this.options.stopGraceMs ?? STOP_GRACE_MS;
    const closing = [this.nfs, this.mount].map((l) => l?.close(grace));
    await this.registrar?.unregister();
    await Promise.all(closing);
    this.locks?.close();
  }

  healthCheck(): HealthCheck {
    return {
      name: 'nfs',
      timeoutMs: 2 * PROBE_TIMEOUT_MS + 500,
      run: async () => {
        const nfs = this.nfs;
        const mount = this.mount;
        if (!nfs?.isListening || !mount?.isListening) {
          const message = this.stopping
            ? 'stopped'
            : !this.accepting
              ? 'not accepting connections (drain)'
              : 'not listening yet';
          return { status: 'degraded' as const, message };
        }
        const problems = [
          await this.probe(nfs, Programs.NFS, 3),
          await this.probe(mount, Programs.MOUNT, 3),
        ].filter((p) => p !== undefined);
        return problems.length === 0
          ? undefined
          : { status: 'unhealthy' as const, message: problems.join('; ') };
      },
    };
  }

  /** An RPC NULL call to our own listener over TCP: an accepted SUCCESS reply is healthy. */
  private async probe(l: RpcListener, prog: number, vers: number): Promise<string | undefined> {
    const bind = l === this.nfs ? this.ctx.config.nfs.bind : this.ctx.config.nfs.mountBind;
    const host = bind.host === '0.0.0.0' ? '127.0.0.1' : bind.host === '::' ? '::1' : bind.host;
    try {
      // Marked as the gateway's own: an idle gateway shows no NFS traffic.
      const reply = await rpcCallOnce(host, l.port, { prog, vers, proc: 0 }, PROBE_TIMEOUT_MS, (socket) =>
        this.ctx.connections.ownProbe(socket),
      );
      if (reply.status === 'accepted' && reply.stat === AcceptStat.SUCCESS) return undefined;
      return `${l.name} NULL call was not accepted (${reply.status})`;
    } catch (e) {
      return `${l.name} listener did not answer an RPC NULL call: ${(e as Error).message}`;
    }
  }
}

export function createNfsServer(ctx: ProtocolContext, options?: NfsServerOptions): ProtocolServer {
  return new NfsServer(ctx, options);
}
