import type { NfsExport } from '../../config/types.ts';

/*
 * Which export a MOUNT path lies in. Which clients may mount it is ../client-access.ts (host
 * names resolved through DNS); the squash rules (effectiveCredential) and the per-call client
 * check of the NFS program live in nfs/v3/exports-view.ts.
 */

/**
 * A MOUNT dirpath in the namespace's spelling: absolute, no empty, `.` or `..` components, no
 * trailing slash (`/` stays `/`). Undefined when it cannot name anything inside an export.
 */
export function normaliseMountPath(path: string): string | undefined {
  if (!path.startsWith('/') || path.includes('\0')) return undefined;
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) return undefined;
  return `/${parts.join('/')}`;
}

/**
 * The export a path is in: the export whose path is the longest whole-component prefix of it
 * (`/export/sub/dir` is in `/export`, `/exporter` is not), with its slot — the index the NFS
 * file handle carries.
 */
export function exportContaining(
  exports: ReadonlyArray<NfsExport | undefined>,
  path: string,
): { index: number; export: NfsExport } | undefined {
  const wanted = normaliseMountPath(path);
  if (wanted === undefined) return undefined;
  let best: { index: number; export: NfsExport } | undefined;
  for (const [index, exp] of exports.entries()) {
    if (!exp) continue;
    const root = exp.path;
    const inside = root === '/' || wanted === root || wanted.startsWith(`${root}/`);
    if (inside && (!best || root.length > best.export.path.length)) best = { index, export: exp };
  }
  return best;
}
