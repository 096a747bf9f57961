/**
 * Content annotations: extended attributes that describe a file's bytes as of one change id
 * (the S3 server's ETag). The namespace keeps them honest across crashes (see
 * Namespace.write); fsck verifies them.
 */

/** Hex MD5 of the content, recorded by the S3 server for single-part uploads. */
export const ETAG_MD5_XATTR = 's3.etag-md5';
/** The inode's `change` value (decimal) when the MD5 was recorded; any later change voids it. */
export const ETAG_CHANGE_XATTR = 's3.etag-change';
/**
 * The checksum a PUT's client sent (`CHANGE ALGORITHM BASE64`, protocols/s3/stored-checksum.ts):
 * current only with the ETag's annotation, and removed with it when bytes are about to change,
 * so that neither a crash inside a write nor an ETag computed afterwards can make it current
 * over other bytes.
 */
export const CONTENT_CHECKSUM_XATTR = 's3.checksum';

/**
 * Extended attributes under this prefix hold a file's named data streams (SMB's
 * "file:name:$DATA", protocols/smb/streams.ts): bulk data beside the file. They are read one
 * piece at a time (getXattr) and listed by name and size (listStreams), never with the inode's
 * attributes (listXattrs leaves them out), so a directory listing never loads them.
 *
 * A stream is kept in chunks of STREAM_CHUNK bytes, so that a write rewrites only the chunks it
 * touches: chunk 0 under `stream.<name>`, chunk k under `stream.<name>:<k>` (a stream's name
 * never holds a colon). A chunk may be shorter than STREAM_CHUNK, or missing (a hole): what it
 * lacks reads as zeros. The stream's size is the furthest byte a chunk holds, so the last
 * chunk is always stored up to the stream's end. Streams written before chunks existed (up to
 * 1 MiB, whole under `stream.<name>`) are read as they are and cut into chunks at their first
 * change.
 */
export const STREAM_XATTR_PREFIX = 'stream.';
export const STREAM_CHUNK = 256 * 1024;

/** The attribute that holds chunk `index` of stream `name`. */
export const streamChunkKey = (name: string, index: number): string =>
  index === 0 ? STREAM_XATTR_PREFIX + name : `${STREAM_XATTR_PREFIX}${name}:${index}`;

/** Streams by name and size, from their chunks' names (the prefix left off) and lengths. */
export function streamsOfChunks(
  chunks: Iterable<{ name: string; size: number }>,
): Array<{ name: string; size: number }> {
  const sizes = new Map<string, number>();
  for (const c of chunks) {
    const [, name = c.name, index = '0'] = /^(.*):(\d+)$/s.exec(c.name) ?? [];
    const end = Number(index) * STREAM_CHUNK + c.size;
    sizes.set(name, Math.max(sizes.get(name) ?? 0, end));
  }
  return [...sizes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, size]) => ({ name, size }));
}
