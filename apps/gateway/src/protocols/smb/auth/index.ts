export {
  type AcceptorFailureStatus,
  type AcceptorStep,
  type AuthenticatedUser,
  challengeFlags,
  NtlmAcceptor,
  type NtlmAcceptorOptions,
  type NtlmUserLookup,
  type NtlmUserRecord,
} from './acceptor.ts';
export { DerReader, decodeOid, encodeOid, tlv } from './der.ts';
export { DerError, NtlmError } from './errors.ts';
export {
  type AuthenticateMessage,
  AV,
  AV_FLAG_MIC_PRESENT,
  type AvPair,
  type ChallengeMessage,
  decodeAuthenticate,
  decodeAvPairs,
  decodeChallenge,
  decodeNegotiate,
  encodeAuthenticate,
  encodeAvPairs,
  encodeChallenge,
  encodeNegotiate,
  fileTime,
  fileTimeToMs,
  MESSAGE_TYPE,
  type NegotiateMessage,
  NTLMSSP,
  ntlmMessageType,
} from './ntlmssp.ts';
export {
  computeMic,
  exportedSessionKey,
  lmv2Response,
  type Ntlmv2Response,
  ntlmv2Temp,
  ntowfv1,
  ntowfv2,
  ntProofStr,
  parseNtlmv2Response,
  sessionBaseKey,
  upcaseUnicode,
  verifyNtlmv2,
} from './ntlmv2.ts';
export { NTLM_MAX_LIFETIME_MS, processReplayCache, ReplayCache } from './replay-cache.ts';
export { NtlmSessionSecurity, ntlmMac, sealKey, signKey } from './session-security.ts';
export {
  decodeSpnego,
  encodeMechTypeList,
  encodeNegTokenInit,
  encodeNegTokenResp,
  NEG_STATE,
  type NegState,
  type NegTokenInit,
  type NegTokenResp,
  OID,
  type SpnegoToken,
} from './spnego.ts';
