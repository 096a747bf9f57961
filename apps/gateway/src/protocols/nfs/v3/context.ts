import type { NfsExport } from '../../../config/types.ts';
import type { Logger } from '../../../daemon/logger.ts';
import type { NamespaceApi, Unlinked } from '../../../storage/contract.ts';
import { effectiveAccess, R_OK, W_OK, X_OK } from '../../../storage/permissions.ts';
import { type Attributes, type Credential, ROOT } from '../../../storage/types.ts';
import { insecurePort } from '../../client-access.ts';
import type { RpcCall } from '../../rpc/program.ts';
import { preOpOf } from './codec/attrs.ts';
import { Nfsstat3 } from './constants.ts';
import { nfsError } from './errors.ts';
import { type ClientCheck, effectiveCredential } from './exports-view.ts';
import type { NfsHandles } from './handle.ts';
import type { ReadAhead } from './read-ahead.ts';
import { type Fattr3, NO_WCC, type PostOpAttr, type PreOpAttr, type WccData } from './types.ts';

/** What every NFSv3 call shares: the namespace, the exports and their handles. */
export interface NfsEnv {
  readonly ns: NamespaceApi;
  readonly handles: NfsHandles;
  /** The write verifier (RFC 1813 §3.3.7): random per program instance, so it changes on restart. */
  readonly writeVerifier: Buffer;
  /** Whether a client address may use an export, asked on every call. */
  readonly clients: ClientCheck;
  readonly readAhead: ReadAhead;
  readonly log?: Logger;
}

/** The part of an RPC call a procedure needs: who calls, and from where. */
export type Caller = Pick<RpcCall, 'cred' | 'remoteAddress' | 'remotePort'>;

/**
 * One call's view of the world. Every handle goes through `file()`, which applies, in one place,
 * what the dispatch row asks for: handle MAC and liveness (BADHANDLE / STALE), the export's
 * client list (ACCES), its read-only flag for mutating procedures (ROFS), one export per call
 * (XDEV); and it remembers each object's pre-op attributes for the wcc_data of the reply.
 */
export class NfsCall {
  private exportIndex: number | undefined;
  private credential: Credential | undefined;
  /** pre_op_attr of each inode the call resolved (made at the first: most calls resolve one). */
  private before: Map<bigint, PreOpAttr> | undefined;
  /** The client check's answer for an export this call resolved a handle of. */
  private asked: { exp: NfsExport; answer: boolean | Promise<boolean> } | undefined;

  constructor(
    readonly env: NfsEnv,
    readonly mutates: boolean,
    readonly caller: Caller,
  ) {}

  get ns(): NamespaceApi {
    return this.env.ns;
  }

  /** The export of the call's handles (set by the first `file()`). */
  get export(): NfsExport {
    return this.env.handles.exportAt(this.exportIndexOrThrow());
  }

  private exportIndexOrThrow(): number {
    if (this.exportIndex === undefined) throw new Error('no handle resolved yet');
    return this.exportIndex;
  }

  /** The object a handle names, checked as described above. */
  async file(fh: Buffer): Promise<Attributes> {
    const { ref, exp, allowed } = this.reach(fh);
    if (insecurePort(exp, this.caller.remotePort))
      throw nfsError(
        Nfsstat3.PERM,
        `request from the unprivileged port ${this.caller.remoteAddress}:${this.caller.remotePort} refused: export ${exp.path} is secure`,
      );
    if (!(allowed === true || (allowed !== false && (await allowed)))) {
      throw nfsError(Nfsstat3.ACCES, `${this.caller.remoteAddress} is not a client of ${exp.path}`);
    }
    this.exportIndex = ref.exportIndex;
    const attrs = await this.env.ns.getattr(ref);
    this.before ??= new Map();
    if (!this.before.has(attrs.ino)) this.before.set(attrs.ino, preOpOf(attrs));
    if (this.mutates && exp.access === 'ro') throw nfsError(Nfsstat3.ROFS, `export ${exp.path} is read-only`);
    return attrs;
  }

  /**
   * `file()` when it needs no wait — the handle verified, the client's access decided and the
   * attributes cached — with the same checks; undefined where `file()` would wait or refuse (it
   * then answers, or says why). Keeps no pre-op attributes: for procedures without wcc_data.
   */
  fileNow(fh: Buffer): Attributes | undefined {
    let reached: ReturnType<NfsCall['reach']>;
    try {
      reached = this.reach(fh);
    } catch {
      return undefined;
    }
    const { ref, exp, allowed } = reached;
    if (allowed !== true || (this.mutates && exp.access === 'ro')) return undefined;
    if (insecurePort(exp, this.caller.remotePort)) return undefined;
    const attrs = this.env.ns.cachedAttrs(ref);
    if (attrs) this.exportIndex = ref.exportIndex;
    return attrs;
  }

  /**
   * The handle verified (BADHANDLE, STALE), of this call's export (XDEV), and whether the caller
   * is a client of that export — decided without a wait once known (ClientAccess keeps its
   * decisions), and asked once per call (`fileNow`, then `file`).
   */
  private reach(fh: Buffer): {
    ref: ReturnType<NfsHandles['decodeHandle']>;
    exp: NfsExport;
    allowed: boolean | Promise<boolean>;
  } {
    const ref = this.env.handles.decodeHandle(fh);
    if (this.exportIndex !== undefined && this.exportIndex !== ref.exportIndex) {
      throw nfsError(Nfsstat3.XDEV, 'handles of two exports in one call');
    }
    const exp = this.env.handles.exportAt(ref.exportIndex);
    if (this.asked?.exp !== exp)
      this.asked = { exp, answer: this.env.clients.allowed(exp, this.caller.remoteAddress) };
    return { ref, exp, allowed: this.asked.answer };
  }

  /** Like `file()`, for a handle that must name a directory (NFS3ERR_NOTDIR otherwise). */
  async dir(fh: Buffer): Promise<Attributes> {
    const a = await this.file(fh);
    if (a.type !== 'dir') throw nfsError(Nfsstat3.NOTDIR, 'not a directory');
    return a;
  }

  /** The caller's namespace credential on this call's export (squash, anon ids). */
  cred(): Credential {
    this.credential ??= effectiveCredential(this.export, this.caller.cred);
    return this.credential;
  }

  /**
   * The credential READ and WRITE run with. As NFS servers do (knfsd's owner override), the
   * owner may read and write their file whatever its mode — a client checks permissions at
   * open, and a file created read-only must still take the data written through that open —
   * and a file the caller may execute may be read (executing is reading over NFS). A SETATTR
   * of the size is a write (knfsd's truncate under the same override).
   */
  ioCred(attrs: Attributes, want: 'read' | 'write'): Credential {
    const cred = this.cred();
    const bits = effectiveAccess(cred, attrs);
    if (want === 'read' && (bits & (R_OK | X_OK)) !== 0) return bits & R_OK ? cred : ROOT;
    if (want === 'write' && (bits & W_OK) !== 0) return cred;
    // Still the owner, not root: a write so allowed drops setuid and setgid as any other.
    return cred.uid === attrs.uid ? { ...cred, ownerOverride: true } : cred;
  }

  post(attrs: Attributes): Fattr3 {
    return { attrs, fsid: this.env.handles.fsid(this.exportIndexOrThrow()) };
  }

  handleOf(attrs: Attributes): Buffer {
    return this.env.handles.encodeHandle(this.exportIndexOrThrow(), attrs);
  }

  /** The handles kept for the objects whose names this call removed are dropped. */
  unlinked(inodes: Unlinked): void {
    for (const ino of inodes) this.env.handles.forget(ino);
  }

  /** Current attributes of an inode of this export; absent if it is gone. */
  async fresh(ino: bigint): Promise<PostOpAttr> {
    try {
      return this.post(await this.env.ns.getattr(ino));
    } catch {
      return undefined;
    }
  }

  /** wcc_data of an inode resolved in this call: captured before, current after. */
  async wcc(ino: bigint, after?: Attributes): Promise<WccData> {
    return { before: this.before?.get(ino), after: after ? this.post(after) : await this.fresh(ino) };
  }

  /**
   * post_op_attr for a failure reply: whatever can be learnt of the handle, never an error
   * (a bad handle has no attributes to report).
   */
  async postOf(fh: Buffer): Promise<PostOpAttr> {
    try {
      const ref = this.env.handles.decodeHandle(fh);
      if (this.exportIndex !== undefined && ref.exportIndex !== this.exportIndex) return undefined;
      const attrs = await this.env.ns.getattr(ref);
      return { attrs, fsid: this.env.handles.fsid(ref.exportIndex) };
    } catch {
      return undefined;
    }
  }

  /** wcc_data for a failure reply (see postOf). */
  async wccOf(fh: Buffer): Promise<WccData> {
    const after = await this.postOf(fh);
    if (!after) return NO_WCC;
    return { before: this.before?.get(after.attrs.ino), after };
  }

  /** The root directory of this call's export. */
  exportRoot(): Promise<Attributes> {
    return this.env.handles.exportRoot(this.exportIndexOrThrow());
  }

  /**
   * The directory `..` names from `dir`, kept inside the export: at the export root it is the
   * root itself (RFC 1813 §3.3.3 leaves `..` of a root to the server), and a parent the export
   * no longer contains (the directory was moved out through another export or protocol) is
   * refused rather than handed out.
   */
  async parentOf(dir: Attributes): Promise<Attributes> {
    const root = await this.exportRoot();
    if (dir.ino === root.ino) return dir;
    const parent = await this.env.ns.getattr(dir.parent);
    for (let at = parent, hops = 0; ; hops++) {
      if (at.ino === root.ino) return parent;
      if (at.parent === at.ino || hops > 4096) break;
      at = await this.env.ns.getattr(at.parent);
    }
    throw nfsError(Nfsstat3.ACCES, 'the parent directory is outside the export');
  }
}
