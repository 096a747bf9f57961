/** The S3 server's imports from the auth module and the error table (owned by the auth work). */
import { fromFsError, S3Error } from './errors.ts';

export {
  type AuthResult,
  authenticate,
  authenticatePostPolicy,
  type BodyVerifier,
  bodyVerifier,
  type KeyLookup,
  type Principal,
  plainlyAnonymous,
} from './auth/index.ts';
export { checksumHeaderName } from './checksums/index.ts';
export { errorXml, fromFsError, S3Error, type S3ErrorCode } from './errors.ts';

/** Any failure as an S3 error: S3 errors pass through, namespace errors go through the table. */
export function asS3Error(e: unknown): S3Error {
  return e instanceof S3Error ? e : fromFsError(e);
}
