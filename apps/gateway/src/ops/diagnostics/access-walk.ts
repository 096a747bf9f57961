import { modeString, octalMode } from '../../cli/format/mode.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { isFsError } from '../../storage/errors.ts';
import { splitPath } from '../../storage/names.ts';
import { effectiveAccess, inGroup, R_OK, W_OK, X_OK } from '../../storage/permissions.ts';
import { type Attributes, type Credential, ROOT } from '../../storage/types.ts';
import type { Measured } from './api.ts';

/**
 * "Why can't this client open that file?", answered with the rule the namespace itself applies
 * (storage/permissions.ts `effectiveAccess`): search on every directory from the root, then
 * read and write on the target; the first refusal is named with the class and bits that
 * refused it.
 */

export type AccessClass = 'root' | 'owner' | 'group' | 'other';

export interface WalkedComponent {
  path: string;
  type: Attributes['type'];
  uid: number;
  gid: number;
  /** `0755`. */
  mode: string;
  /** `drwxr-xr-x`. */
  modeText: string;
  /** Which class of the mode the credential falls in. */
  class: AccessClass;
  /** The rwx bits that class grants (`r-x`). */
  bits: string;
  /** What was needed here: `x` on a directory on the way, `r`/`w` on the target. */
  needs: string;
  granted: boolean;
  /** The rule, in words. */
  rule: string;
}

export interface AccessWalk {
  cred: Credential;
  path: string;
  components: WalkedComponent[];
  /** The first component that does not exist (or is not a directory on the way). */
  missing?: { at: string; reason: string };
  /** Search refused on a directory on the way. */
  searchDenied?: WalkedComponent;
  target?: WalkedComponent;
  read: boolean;
  write: boolean;
  /** The namespace's own verdict for the same credential (resolvePath, then access()). */
  namespace: { resolved: boolean; error?: string; granted?: string };
  /** True when the walk and the namespace's own check agree. */
  agrees: boolean;
}

const rwx = (bits: number) =>
  `${bits & R_OK ? 'r' : '-'}${bits & W_OK ? 'w' : '-'}${bits & X_OK ? 'x' : '-'}`;

export function credText(cred: Credential): string {
  const extra = cred.gids.filter((g) => g !== cred.gid);
  return `uid ${cred.uid} gid ${cred.gid}${extra.length > 0 ? ` groups ${extra.join(',')}` : ''}`;
}

/** The class a credential falls in for a node, the bits it gets, and the rule in words. */
export function classify(
  cred: Credential,
  node: Pick<Attributes, 'uid' | 'gid' | 'mode' | 'type'>,
  path: string,
): { class: AccessClass; bits: number; rule: string } {
  const bits = effectiveAccess(cred, node);
  if (cred.uid === 0) {
    return {
      class: 'root',
      bits,
      rule: `uid 0 (root) on ${path}: reads and writes anything, executes when an x bit is set or it is a directory`,
    };
  }
  const cls = (shift: number) => rwx((node.mode >> shift) & 7);
  if (cred.uid === node.uid) {
    return { class: 'owner', bits, rule: `owner bits ${cls(6)} on ${path}: uid ${cred.uid} is the owner` };
  }
  if (inGroup(cred, node.gid)) {
    const how = cred.gid === node.gid ? 'primary group' : 'a supplementary group';
    return {
      class: 'group',
      bits,
      rule: `group bits ${cls(3)} on ${path}: uid ${cred.uid} is not the owner (${node.uid}) but is in group ${node.gid} (${how})`,
    };
  }
  return {
    class: 'other',
    bits,
    rule: `other bits ${cls(0)} on ${path}: uid ${cred.uid} is not the owner (${node.uid}) and not in group ${node.gid}`,
  };
}

function component(cred: Credential, a: Attributes, path: string, needs: number): WalkedComponent {
  const c = classify(cred, a, path);
  return {
    path,
    type: a.type,
    uid: a.uid,
    gid: a.gid,
    mode: octalMode(a.mode),
    modeText: modeString(a.type, a.mode),
    class: c.class,
    bits: rwx(c.bits),
    needs: rwx(needs).replace(/-/g, ''),
    granted: (c.bits & needs) === needs,
    rule: c.rule,
  };
}

/** Walks `path` for `cred`; never throws for what it finds (missing, denied). */
export async function walkAccess(gw: Gateway, cred: Credential, path: string): Promise<AccessWalk> {
  const parts = splitPath(path);
  const components: WalkedComponent[] = [];
  const walk: AccessWalk = {
    cred,
    path,
    components,
    read: false,
    write: false,
    namespace: { resolved: false },
    agrees: true,
  };
  // Looked up as root: the walk must see every component, including the one that refuses.
  let at = await gw.ns.resolvePath(ROOT, '/');
  let here = '/';
  for (const [i, name] of parts.entries()) {
    const dir = component(cred, at, here, X_OK);
    components.push(dir);
    if (!dir.granted && !walk.searchDenied) walk.searchDenied = dir;
    const next = here === '/' ? `/${name}` : `${here}/${name}`;
    try {
      at = await gw.ns.lookup(ROOT, at.ino, name);
    } catch (e) {
      if (isFsError(e, 'ENOENT') || isFsError(e, 'ENOTDIR')) {
        walk.missing = {
          at: next,
          reason: isFsError(e, 'ENOENT') ? `${next} does not exist` : `${here} is not a directory`,
        };
        break;
      }
      throw e;
    }
    here = next;
    if (i === parts.length - 1) break;
  }
  if (!walk.missing) {
    const wanted = R_OK | W_OK | (at.type === 'dir' ? X_OK : 0);
    const target = component(cred, at, here, wanted);
    const bits = effectiveAccess(cred, at);
    walk.target = { ...target, granted: !walk.searchDenied && (bits & wanted) === wanted };
    components.push(walk.target);
    walk.read = !walk.searchDenied && (bits & R_OK) !== 0;
    walk.write = !walk.searchDenied && (bits & W_OK) !== 0;
  }

  // The namespace's own verdict, through the same calls a protocol makes.
  try {
    const a = await gw.ns.resolvePath(cred, path);
    const granted = await gw.ns.access(cred, a.ino, R_OK | W_OK | X_OK);
    walk.namespace = { resolved: true, granted: rwx(granted) };
    walk.agrees =
      !walk.searchDenied &&
      !walk.missing &&
      ((granted & R_OK) !== 0) === walk.read &&
      ((granted & W_OK) !== 0) === walk.write;
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    walk.namespace = { resolved: false, error: code };
    walk.agrees =
      (code === 'EACCES' && walk.searchDenied !== undefined) ||
      ((code === 'ENOENT' || code === 'ENOTDIR') && walk.missing !== undefined);
  }
  return walk;
}

/** The walk as a table the console shows: one row per component. */
export function walkMeasured(w: AccessWalk): Record<string, Measured> {
  return {
    credential: { uid: w.cred.uid, gid: w.cred.gid, gids: [...w.cred.gids] },
    path: w.path,
    components: w.components.map((c) => ({ ...c })),
    read: w.read,
    write: w.write,
    namespace: { ...w.namespace },
    namespaceAgrees: w.agrees,
  };
}

/** One `ls -l`-like line per component with its verdict. */
export function walkEvidence(w: AccessWalk): string[] {
  return w.components.map(
    (c) =>
      `${c.modeText} ${String(c.uid).padStart(5)} ${String(c.gid).padStart(5)} ${c.path}  needs ${c.needs}: ${c.granted ? 'granted' : 'DENIED'} (${c.class} ${c.bits})`,
  );
}
