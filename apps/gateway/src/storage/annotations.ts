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
 * "file:name:$DATA", protocols/smb/streams.ts): bulk data beside the file, up to a MiB each. They
 * are read one at a time (getXattr) and listed by name and size (listStreams), never with the
 * inode's attributes (listXattrs leaves them out), so a directory listing never loads them.
 */
export const STREAM_XATTR_PREFIX = 'stream.';
