import { closeOpen } from './close-open.ts';
import type { ServerEnv } from './context.ts';
import type { Session } from './session.ts';
import type { TreeConnect } from './tree.ts';

/**
 * Ends a tree connect: gone from the session at once (its tree id then answers
 * STATUS_NETWORK_NAME_DELETED, MS-SMB2 §3.3.5.2.11), then its opens closed with their locks.
 * TREE_DISCONNECT and a reload that removed the share both come here.
 */
export async function endTree(env: ServerEnv, session: Session, tree: TreeConnect): Promise<void> {
  session.trees.delete(tree.id);
  for (const open of [...session.opens.values()]) if (open.tree === tree) await closeOpen(env, open);
}
