import type { OpenHolds } from '../../storage/open-holds.ts';
import { ACCESS, SHARE } from './constants.ts';

/**
 * Share modes (MS-FSA §2.1.5.1.2.1), decided over counts so that one rule serves this node's
 * opens and the other nodes' (cluster-opens.ts): only opens with data access take part.
 */

export const DATA_ACCESS =
  ACCESS.FILE_READ_DATA |
  ACCESS.FILE_EXECUTE |
  ACCESS.FILE_WRITE_DATA |
  ACCESS.FILE_APPEND_DATA |
  ACCESS.DELETE;

const READS = ACCESS.FILE_READ_DATA | ACCESS.FILE_EXECUTE;
const WRITES = ACCESS.FILE_WRITE_DATA | ACCESS.FILE_APPEND_DATA;

export type ShareCounts = Omit<OpenHolds, 'caching' | 'deletePending'>;

/** How many of these opens read, write or delete, and how many do not share each of those. */
export function shareCounts(opens: Iterable<{ access: number; shareAccess: number }>): ShareCounts {
  const c = { readers: 0, writers: 0, deleters: 0, noRead: 0, noWrite: 0, noDelete: 0 };
  for (const o of opens) {
    if ((o.access & DATA_ACCESS) === 0) continue;
    if (o.access & READS) c.readers++;
    if (o.access & WRITES) c.writers++;
    if (o.access & ACCESS.DELETE) c.deleters++;
    if (!(o.shareAccess & SHARE.READ)) c.noRead++;
    if (!(o.shareAccess & SHARE.WRITE)) c.noWrite++;
    if (!(o.shareAccess & SHARE.DELETE)) c.noDelete++;
  }
  return c;
}

/** Whether an open with this access and share mode violates the sharing of the opens counted. */
export function violatesSharing(others: ShareCounts, access: number, share: number): boolean {
  if ((access & DATA_ACCESS) === 0) return false;
  return (
    (access & READS && others.noRead > 0) ||
    (access & WRITES && others.noWrite > 0) ||
    (access & ACCESS.DELETE && others.noDelete > 0) ||
    (!(share & SHARE.READ) && others.readers > 0) ||
    (!(share & SHARE.WRITE) && others.writers > 0) ||
    (!(share & SHARE.DELETE) && others.deleters > 0)
  );
}
