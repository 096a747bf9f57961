import { randomBytes, randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { isWildcardHost } from '../../config/address.ts';
import type { Protocol, SmbShare } from '../../config/types.ts';
import type { Listener, ProtocolContext, ProtocolServer } from '../../daemon/protocol-server.ts';
import type { HealthCheck } from '../../ops/health.ts';
import { onCredentialsInvalidated } from '../../ops/identity/credentials.ts';
import { createReadBufferServer } from '../../util/read-buffer-socket.ts';
import { Acceptor } from '../acceptor.ts';
import { ClientAccess } from '../client-access.ts';
import { closeByAdmin } from './admin-close.ts';
import { closeOpen } from './close-open.ts';
import { joinOpenHolds } from './cluster-opens.ts';
import { SmbConnection } from './connection.ts';
import type { ServerEnv } from './context.ts';
import { DurableOpens } from './durable.ts';
import { cannotEncrypt, encryptionVerdict, shareEncryption } from './encryption.ts';
import {
  ACCOUNT_CHECK_MS,
  endSessions,
  endSessionsOfClosedAccounts,
  type SessionsToEnd,
} from './end-sessions.ts';
import { nowFiletime } from './filetime.ts';
import { LeaseTable } from './leases.ts';
import { SmbAdvertiser } from './mdns.ts';
import { NotifyHub } from './notify.ts';
import { InodeOpens } from './open-files.ts';
import { cachingHolder } from './oplocks.ts';
import { probeNegotiate } from './probe.ts';
import { type SmbStatus, smbStatusOf } from './status-report.ts';
import { hostAllowed, inValidGroups, type Share, sharesFrom, type TreeConnect } from './tree.ts';
import { endTree } from './tree-end.ts';

/** How long stop() lets requests in flight finish before closing their connections. */
const STOP_GRACE_MS = 10_000;

/** A NetBIOS name (15 characters, upper case) for NTLM and srvsvc, from the node name. */
export function netbiosName(node: string): string {
  const n = node
    .toUpperCase()
    .replace(/[^A-Z0-9-]/g, '-')
    .slice(0, 15);
  return n === '' ? 'CLAUDEFS' : n;
}

/**
 * The SMB2/3 listener: one SmbConnection per TCP connection, registered in the connection
 * registry (refused at the limit), draining by closing the listener only, and a health probe
 * that negotiates with its own listener.
 */
export class SmbServer implements ProtocolServer {
  readonly protocol: Protocol = 'smb';
  readonly env: ServerEnv;
  private readonly acceptor: Acceptor;
  private readonly connections = new Set<SmbConnection>();
  private stopping = false;
  private stopRecalls: (() => void) | undefined;
  private sharesMade: { from: readonly SmbShare[]; shares: readonly Share[] } | undefined;
  private readonly mdns: SmbAdvertiser;
  private accountCheck:
    | { timer: NodeJS.Timeout; stop: () => void; running?: Promise<void>; again?: boolean }
    | undefined;

  constructor(private readonly ctx: ProtocolContext) {
    let fileIds = 0n;
    let sessionIds = BigInt(randomInt(1, 0x7fff_ffff)) << 32n;
    const inodes = new InodeOpens();
    const notify = new NotifyHub(ctx.ns, inodes, ctx.log);
    this.env = {
      ns: ctx.ns,
      get config() {
        return ctx.config;
      },
      control: ctx.control,
      log: ctx.log,
      serverGuid: randomBytes(16),
      startTime: nowFiletime(),
      serverName: netbiosName(ctx.config.node.name),
      shares: () => this.shares(),
      clients: new ClientAccess(),
      notify,
      inodes,
      sessions: new Map(),
      durable: new DurableOpens(),
      leases: new LeaseTable(),
      nextFileId: () => ++fileIds,
      nextSessionId: () => ++sessionIds,
    };
    this.mdns = new SmbAdvertiser(ctx.log);
    // Each connection reads into its own buffer (big WRITEs otherwise cost full collections).
    const { host, port } = ctx.config.smb.bind;
    this.acceptor = new Acceptor(
      createReadBufferServer({}, (s) => this.onSocket(s)),
      { host, port, backlog: 511 },
    );
  }

  async start(): Promise<Listener[]> {
    await this.acceptor.listen();
    const unregister = this.ctx.ns.caching.register(cachingHolder(this.env));
    const leave = joinOpenHolds(this.env);
    const inodes = this.env.inodes;
    this.ctx.ns.heldOpen = (ino) => inodes.isOpen(ino);
    this.stopRecalls = () => {
      unregister();
      leave();
      this.ctx.ns.heldOpen = () => false;
    };
    await this.mdns.update(this.ctx.config);
    // A user disabled or removed through this gateway loses its sessions at once; through the
    // CLI (which writes the control plane itself) or another node, within ACCOUNT_CHECK_MS.
    this.accountCheck = {
      timer: setInterval(() => this.checkAccounts(), ACCOUNT_CHECK_MS).unref(),
      stop: onCredentialsInvalidated(this.ctx.control, () => this.checkAccounts()),
    };
    const { host, port } = this.ctx.config.smb.bind;
    return [{ name: 'SMB', address: `${host}:${port}` }];
  }

  /**
   * A reload: new shares are served and listed at once. A tree connect to a share the reload
   * removed or moved to another path ends (its next request reads STATUS_NETWORK_NAME_DELETED and
   * the client connects the tree again); one to a share whose read_only or valid_groups changed
   * takes the new settings now, and ends if its user is no longer in valid_groups or its address
   * in hosts_allow. One that is not encrypted where the share now asks for encryption
   * (`smb.encryption` or the share's) ends too: the client's next tree connect is told to
   * encrypt, or refused if it cannot; so does a guest's where guests are no longer taken.
   */
  async reload(): Promise<void> {
    await this.mdns.update(this.ctx.config);
    const shares = new Map(this.shares().map((s) => [s.name.toUpperCase(), s]));
    const groupsFromHost = this.ctx.config.identity.groupsFromHost;
    const ending: Array<{ tree: TreeConnect; why: string }> = [];
    for (const conn of this.connections) {
      for (const session of conn.sessions.values()) {
        for (const tree of session.trees.values()) {
          if (tree.share.ipc) continue;
          const next = shares.get(tree.share.name.toUpperCase());
          if (!next) ending.push({ tree, why: 'the share is no longer configured' });
          else if (next.path !== tree.share.path)
            ending.push({ tree, why: `the share now serves ${next.path}` });
          else {
            tree.share = next;
            const why = this.guestNoLonger(tree) ?? this.newlyEncrypted(conn, tree);
            if (why) ending.push({ tree, why });
          }
        }
      }
    }
    for (const conn of this.connections) {
      for (const session of conn.sessions.values()) {
        for (const tree of session.trees.values()) {
          if (tree.share.ipc || !session.user || ending.some((e) => e.tree === tree)) continue;
          if (!(await hostAllowed(this.env, tree.share, conn.remoteAddress)))
            ending.push({ tree, why: `${conn.remoteAddress} is not in its hosts_allow` });
          else if (!(await inValidGroups(tree.share, session.user, this.ctx.control, groupsFromHost)))
            ending.push({ tree, why: `${session.user.name} is in none of its valid_groups` });
        }
      }
    }
    for (const { tree, why } of ending) {
      this.ctx.log.info(
        { share: tree.share.name, user: tree.session.user?.name, treeId: tree.id },
        `SMB tree connect to ${tree.share.name} ended by a reload: ${why}`,
      );
      await endTree(this.env, tree.session, tree).catch((e: unknown) =>
        this.ctx.log.error(
          { err: e, share: tree.share.name },
          'closing the files of an ended tree connect failed',
        ),
      );
    }
  }

  /**
   * The served shares, made once per configuration: the same objects until a reload, so the
   * decisions of `clients` (cached per share) are kept between tree connects.
   */
  private shares(): readonly Share[] {
    const from = this.ctx.config.smb.shares;
    if (this.sharesMade?.from !== from) this.sharesMade = { from, shares: sharesFrom(from) };
    return this.sharesMade.shares;
  }

  /** Why a guest's tree connect must end: guests are no longer mapped, or the share takes none. */
  private guestNoLonger(tree: TreeConnect): string | undefined {
    if (!tree.session.guest) return undefined;
    if (this.ctx.config.smb.mapToGuest !== 'bad_user')
      return 'smb.map_to_guest is now never: guests are refused';
    return tree.share.guestOk ? undefined : 'the share takes no guests now (guest_ok is false)';
  }

  /** Why a tree connect that does not encrypt must end now that its share asks for encryption. */
  private newlyEncrypted(conn: SmbConnection, tree: TreeConnect): string | undefined {
    if (tree.encryptData || tree.session.encryptData) return undefined;
    const level = shareEncryption(this.ctx.config.smb.encryption, tree.share.encryption);
    const verdict = encryptionVerdict(level, conn, tree.session);
    if (verdict === 'encrypt') return `the share now asks for encryption (${level}); it was not encrypted`;
    if (verdict === 'refuse')
      return `the share now requires encryption and ${cannotEncrypt(conn, tree.session)}`;
    return undefined;
  }

  async setAccepting(accepting: boolean): Promise<void> {
    if (this.stopping) return;
    await this.acceptor
      .setAccepting(accepting)
      .catch((e: unknown) => this.ctx.log.error({ err: e }, 'SMB listener could not resume accepting'));
  }

  /** Requests being worked on, over every connection (parked async ones excepted: see SmbConnection.busy). */
  get busy(): number {
    let n = 0;
    for (const c of this.connections) n += c.busy;
    return n;
  }

  /** Stops listening, lets requests in flight finish (bounded), then closes every connection; idle ones do not delay it. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopRecalls?.();
    if (this.accountCheck) {
      clearInterval(this.accountCheck.timer);
      this.accountCheck.stop();
      await this.accountCheck.running;
    }
    await this.mdns.stop();
    // Resolves only once every accepted socket is gone: stop accepting now, await it last.
    const closed = this.acceptor.stop();
    const deadline = performance.now() + STOP_GRACE_MS;
    while (this.busy > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all([...this.connections].map((c) => c.close('server stopping')));
    // Nobody can reconnect to a stopped server: its durable opens close now (commits, deletes).
    await Promise.all(this.env.durable.disconnected().map((o) => closeOpen(this.env, o)));
    this.env.notify.close();
    await closed;
  }

  healthCheck(): HealthCheck {
    return {
      name: 'smb',
      timeoutMs: 2000,
      run: async () => {
        const notListening = this.acceptor.notListening;
        if (notListening) return { status: 'degraded' as const, message: notListening };
        const { host, port } = this.ctx.config.smb.bind;
        // Marked as the gateway's own: an idle gateway shows no SMB traffic.
        const problem = await probeNegotiate(
          isWildcardHost(host) ? '127.0.0.1' : host,
          port,
          1500,
          (socket) => this.ctx.connections.ownProbe(socket),
        );
        return problem === undefined ? undefined : { status: 'unhealthy' as const, message: problem };
      },
    };
  }

  /** Sessions, tree connects, open files and byte-range locks (`./cfs smb status`). */
  status(): SmbStatus {
    return smbStatusOf([...this.connections], this.env);
  }

  /** Closes the open `status()` lists under this session and FileId; its path, or undefined. */
  closeFile(session: string, fileId: string): Promise<string | undefined> {
    return closeByAdmin(this.connections, this.env, session, fileId);
  }

  /** Ends sessions (`./cfs smb end-session`, the console's Connections page); those ended. */
  endSessions(which: SessionsToEnd, reason: string) {
    return endSessions(this.connections, this.env, which, reason);
  }

  /** One account check at a time; one asked for while another runs follows it. */
  private checkAccounts(): void {
    const check = this.accountCheck;
    if (!check || this.stopping) return;
    if (check.running) {
      check.again = true;
      return;
    }
    const users = this.ctx.control.users;
    check.running = endSessionsOfClosedAccounts(this.connections, this.env, (n) => users.get(n))
      .then(
        () => undefined,
        (e) => this.env.log.error({ err: e }, 'SMB account check failed'),
      )
      .finally(() => {
        check.running = undefined;
        if (check.again) {
          check.again = false;
          this.checkAccounts();
        }
      });
  }

  private onSocket(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const conn = this.ctx.connections.accept(
      'smb',
      socket.remoteAddress ?? '',
      socket.remotePort ?? 0,
      socket.localPort ?? 0,
    );
    if (!conn) {
      socket.destroy();
      return;
    }
    const c = new SmbConnection(this.env, socket, conn);
    this.connections.add(c);
    void c.finished.then(() => this.connections.delete(c));
  }
}

export function createSmbServer(ctx: ProtocolContext): ProtocolServer {
  return new SmbServer(ctx);
}
