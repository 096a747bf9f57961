import type { S3Call } from '../context.ts';
import { asS3Error } from '../deps.ts';
import type { WrittenAside } from '../upload.ts';
import type { Upload } from './store.ts';

/**
 * Records a written part in the upload's manifest (replacing and removing an earlier part of
 * the same number). An upload completed or aborted while the part was being written does not
 * keep it: the part file is removed and NoSuchUpload answered.
 */
export async function recordPart(
  call: S3Call,
  u: Upload,
  partNumber: number,
  written: WrittenAside,
  md5: string,
): Promise<void> {
  const { uploads, ns } = call.env;
  try {
    await uploads.exclusive(u.uploadId, async () => {
      const current = await uploads.get(u.uploadId);
      const replaced = await uploads.recordPart(current, {
        partNumber,
        ino: String(written.attrs.ino),
        size: String(written.size),
        md5,
        at: Date.now(),
      });
      if (replaced !== undefined && replaced !== written.attrs.ino)
        await ns.removeDetached(replaced).catch(() => {});
    });
  } catch (e) {
    await ns.removeDetached(written.attrs.ino).catch(() => {});
    throw asS3Error(e);
  }
}
