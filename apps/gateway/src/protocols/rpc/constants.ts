/** ONC RPC version 2 message constants (RFC 5531 §9 and appendix A). */

export const RPC_VERSION = 2;

export const MSG_CALL = 0;
export const MSG_REPLY = 1;

export const REPLY_ACCEPTED = 0;
export const REPLY_DENIED = 1;

/** accept_stat (RFC 5531 §9). */
export const AcceptStat = {
  SUCCESS: 0,
  PROG_UNAVAIL: 1,
  PROG_MISMATCH: 2,
  PROC_UNAVAIL: 3,
  GARBAGE_ARGS: 4,
  SYSTEM_ERR: 5,
} as const;
export type AcceptStatName = keyof typeof AcceptStat;

/** reject_stat (RFC 5531 §9). */
export const RejectStat = { RPC_MISMATCH: 0, AUTH_ERROR: 1 } as const;

/** auth_stat (RFC 5531 §9). */
export const AuthStat = {
  AUTH_OK: 0,
  AUTH_BADCRED: 1,
  AUTH_REJECTEDCRED: 2,
  AUTH_BADVERF: 3,
  AUTH_REJECTEDVERF: 4,
  AUTH_TOOWEAK: 5,
  AUTH_INVALIDRESP: 6,
  AUTH_FAILED: 7,
} as const;
export type AuthStatName = keyof typeof AuthStat;

/** auth_flavor numbers (RFC 5531 §8.2 and the IANA registry). */
export const AuthFlavor = { NONE: 0, SYS: 1, SHORT: 2, DH: 3, RPCSEC_GSS: 6 } as const;

/** opaque_auth bodies are at most 400 bytes (RFC 5531 §8.2). */
export const MAX_AUTH_BYTES = 400;
/** authsys_parms: machinename<255>, gids<16> (RFC 5531 appendix A). */
export const AUTH_SYS_MAX_MACHINE = 255;
export const AUTH_SYS_MAX_GIDS = 16;

/** Program numbers served or called by the gateway. */
export const Programs = {
  PORTMAP: 100000,
  NFS: 100003,
  MOUNT: 100005,
  NLM: 100021,
  NSM: 100024,
} as const;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
