import type { Attributes } from '../../../../storage/types.ts';
import { toSetAttributes } from '../codec/sattr3.ts';
import type { NfsCall } from '../context.ts';
import type { Sattr3 } from '../types.ts';

/**
 * Applies the sattr3 owner and times a client sent with MKDIR, SYMLINK or MKNOD, which the
 * namespace's create calls do not take. The object exists by now: a refusal (a non-root
 * caller naming another owner) leaves it as created rather than failing the whole call.
 */
export async function applyInitial(ctx: NfsCall, obj: Attributes, attrs: Sattr3): Promise<Attributes> {
  const set = toSetAttributes(attrs);
  delete set.mode;
  if (Object.keys(set).length === 0) return obj;
  try {
    return await ctx.ns.setattr(ctx.cred(), obj.ino, set);
  } catch {
    return obj;
  }
}
