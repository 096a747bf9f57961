/**
 * Content annotations: extended attributes that describe a file's bytes as of one change id
 * (the S3 server's ETag). The namespace keeps them honest across crashes (see
 * Namespace.write); fsck verifies them.
 */

/** Hex MD5 of the content, recorded by the S3 server for single-part uploads. */
export const ETAG_MD5_XATTR = 's3.etag-md5';
/** The inode's `change` value (decimal) when the MD5 was recorded; any later change voids it. */
export const ETAG_CHANGE_XATTR = 's3.etag-change';
