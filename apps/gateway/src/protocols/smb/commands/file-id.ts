import type { FileId } from '../open-files.ts';
import type { Reader } from '../wire/reader.ts';

/** SMB2_FILEID (§2.2.14.1): Persistent then Volatile, 8 bytes each. */
export function readFileId(r: Reader): FileId {
  const persistent = r.u64('FileId.Persistent');
  const volatile = r.u64('FileId.Volatile');
  return { persistent, volatile };
}
