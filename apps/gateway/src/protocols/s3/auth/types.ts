/** What the S3 server hands to authentication, and what it gets back. */

export interface S3RequestHead {
  method: string;
  /** The path as received: still percent-encoded, without the query. */
  rawPath: string;
  /** Everything after the first '?', as received ('' when there is none). */
  rawQuery: string;
  /** Node's IncomingHttpHeaders: names lower-case, most repeated headers already joined with ", ". */
  headers: Record<string, string | string[] | undefined>;
}

export interface Principal {
  accessKeyId: string;
  userName: string;
  uid: number;
  gid: number;
  gids: number[];
}

/** The key's owner and secret, or null when no such access key exists (or it is disabled). */
export type SecretLookup = (accessKeyId: string) => Promise<(Principal & { secret: string }) | null>;
/** Same as SecretLookup (the name the S3 server's shim used). */
export type KeyLookup = SecretLookup;

/**
 * What covers the request body, decided from x-amz-content-sha256 (X-Amz-Content-Sha256 for a
 * presigned URL):
 * - none: no claim at all (an anonymous request, or a presigned URL without
 *   X-Amz-Content-Sha256: S3 signs those as UNSIGNED-PAYLOAD). The body is not rejected for
 *   being there (a presigned PUT has one); it passes through as-is, checked only against
 *   Content-MD5 and x-amz-checksum-* headers, like `unsigned`.
 * - unsigned: UNSIGNED-PAYLOAD, same treatment.
 * - sha256: the hex SHA-256 of the whole body, verified before the body ends.
 * - streaming-signed: aws-chunked, each chunk signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, and
 *   with -TRAILER a signed trailer).
 * - streaming-unsigned-trailer: aws-chunked without chunk signatures, a checksum trailer.
 * decodedLength is x-amz-decoded-content-length, the object's size.
 */
export type PayloadMode =
  | { kind: 'none' }
  | { kind: 'unsigned' }
  | { kind: 'sha256'; expectedHex: string }
  | { kind: 'streaming-signed'; trailer: boolean; decodedLength: number }
  | { kind: 'streaming-unsigned-trailer'; decodedLength: number };

export type AuthResult =
  | { kind: 'anonymous' }
  | {
      kind: 'sigv4';
      principal: Principal;
      payload: PayloadMode;
      /** Also whether the request came as a presigned URL (query parameters) rather than a header. */
      presigned: boolean;
      /** What the chunk verifier chains on: the derived key, the request's signature, date and scope. */
      signingKey: Buffer;
      seedSignature: string;
      amzDate: string;
      scope: string;
    };
