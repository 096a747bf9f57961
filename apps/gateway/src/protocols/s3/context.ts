import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { GatewayConfig } from '../../config/types.ts';
import type { Logger } from '../../daemon/logger.ts';
import type { Namespace } from '../../storage/namespace.ts';
import type { Credential } from '../../storage/types.ts';
import type { BodyVerifier, Principal } from './deps.ts';
import type { DirectoryListings } from './listing.ts';
import type { UploadStore } from './multipart/store.ts';
import type { PostForm } from './post-form.ts';
import type { VersionStore } from './versioning/store.ts';

/** What every handler of one S3 server shares. */
export interface S3Env {
  readonly ns: Namespace;
  readonly config: GatewayConfig['s3'];
  readonly log: Logger;
  /** The inode of `s3.root`: buckets are its subdirectories. */
  readonly rootIno: bigint;
  readonly uploads: UploadStore;
  /** Noncurrent versions and delete markers of versioned buckets. */
  readonly versions: VersionStore;
  readonly listings: DirectoryListings;
}

/** One S3 request as a handler sees it: parsed, authenticated, its body a verified stream. */
export interface S3Call {
  readonly env: S3Env;
  readonly method: string;
  /** Validated bucket name (for rows with needsBucket). */
  readonly bucket: string;
  /** Decoded key, not yet validated (handlers map it with keyPath()). */
  readonly key: string;
  readonly query: ReadonlyMap<string, string>;
  readonly headers: IncomingHttpHeaders;
  /** The namespace credential: the key's user, or nobody for anonymous reads. */
  readonly cred: Credential;
  readonly principal: Principal | undefined;
  /** Where the request came from (bucket policies' aws:SourceIp and aws:SecureTransport). */
  readonly client: { readonly ip: string; readonly secure: boolean };
  readonly requestId: string;
  /** The decoded, verified request body. Errors (S3Error) before ending when it is not valid. */
  body(): BodyVerifier;
  /** A browser-based upload (POST Object): its form, authenticated by its policy. */
  readonly post?: PostUpload;
}

/** A POST Object form whose policy and signature were checked (auth/post-policy.ts). */
export interface PostUpload {
  form: PostForm;
  /** The policy's content-length-range, when it has one. */
  sizeRange?: { min: number; max: number };
}

/** What a handler answers; the server renders it (status 200 by default). */
export interface S3Reply {
  status?: number;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer | Readable;
}

/** The namespace identity of an anonymous reader of a public-read bucket. */
export const NOBODY: Credential = Object.freeze({ uid: 65534, gid: 65534, gids: [] });

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
