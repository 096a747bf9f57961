/** S3 request authentication (SigV4 header and presigned URL) and streaming body verification. */
export {
  type AuthenticateOptions,
  authenticate,
  DEFAULT_MAX_SKEW_MS,
  plainlyAnonymous,
} from './authenticate.ts';
export { AwsChunkedDecoder, type AwsChunkSink } from './aws-chunked.ts';
export { type BodyVerifier, bodyVerifier, S3BodyVerifier } from './body-verifier.ts';
export {
  formatAmzDate,
  MAX_PRESIGNED_EXPIRES_SECONDS,
  parseAmzDate,
  parseAuthorizationHeader,
  parsePresignedQuery,
} from './parse.ts';
export {
  payloadModeOf,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  UNSIGNED_PAYLOAD,
} from './payload.ts';
export { authenticatePostPolicy, type PostAuth } from './post-policy.ts';
export {
  ALGORITHM,
  canonicalHeaders,
  canonicalHeaderValue,
  canonicalQuery,
  canonicalRequest,
  canonicalTrailer,
  canonicalUri,
  chunkStringToSign,
  credentialScope,
  EMPTY_SHA256,
  parseQuery,
  percentDecode,
  sha256Hex,
  signature,
  signaturesEqual,
  signingKey,
  stringToSign,
  trailerStringToSign,
  uriEncode,
} from './sigv4.ts';
export type { AuthResult, KeyLookup, PayloadMode, Principal, S3RequestHead, SecretLookup } from './types.ts';
