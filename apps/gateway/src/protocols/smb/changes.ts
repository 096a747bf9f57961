import type { ServerEnv } from './context.ts';
import { namespacePath } from './paths.ts';
import type { TreeConnect } from './tree.ts';

/** Tells CHANGE_NOTIFY watchers of a change this server made (`path`: share-relative path of the entry). */
export function postChange(
  env: ServerEnv,
  tree: TreeConnect,
  dirIno: bigint | undefined,
  path: string,
  action: number,
  filter: number,
): void {
  if (dirIno === undefined || dirIno === 0n) return;
  env.notify.post({ action, filter, dirIno, path: namespacePath(tree.share.path, path) });
}
