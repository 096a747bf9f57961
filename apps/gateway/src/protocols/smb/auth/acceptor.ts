import { randomBytes, timingSafeEqual } from 'node:crypto';
import { DerError, NtlmError } from './errors.ts';
import {
  AV,
  AV_FLAG_MIC_PRESENT,
  type AvPair,
  decodeAuthenticate,
  decodeNegotiate,
  encodeAvPairs,
  encodeChallenge,
  fileTime,
  fileTimeToMs,
  MESSAGE_TYPE,
  NTLMSSP,
  ntlmMessageType,
} from './ntlmssp.ts';
import { computeMic, exportedSessionKey, parseNtlmv2Response, verifyNtlmv2 } from './ntlmv2.ts';
import { NTLM_MAX_LIFETIME_MS, processReplayCache, type ReplayCache } from './replay-cache.ts';
import { NtlmSessionSecurity } from './session-security.ts';
import {
  decodeSpnego,
  encodeNegTokenInit,
  encodeNegTokenResp,
  type NegTokenInit,
  type NegTokenResp,
  OID,
} from './spnego.ts';

/** An account as the acceptor needs it; `disabled` accounts fail with STATUS_ACCOUNT_DISABLED. */
export interface NtlmUserRecord {
  name: string;
  /** NTOWFv1: MD4 of the UTF-16LE password (16 bytes). */
  ntHash: Buffer;
  uid: number;
  gid: number;
  gids: number[];
  disabled?: boolean;
}

/**
 * Finds an account by the user name and domain the client sent (as sent: matching is the
 * lookup's business, case-insensitively as Windows does). Null when there is no such account.
 */
export type NtlmUserLookup = (user: string, domain: string) => Promise<NtlmUserRecord | null>;

export interface AuthenticatedUser {
  name: string;
  uid: number;
  gid: number;
  gids: number[];
  domain: string;
}

export type AcceptorFailureStatus =
  | 'STATUS_LOGON_FAILURE'
  | 'STATUS_INVALID_PARAMETER'
  | 'STATUS_ACCOUNT_DISABLED'
  | 'STATUS_NOT_SUPPORTED';

export type AcceptorStep =
  /** STATUS_MORE_PROCESSING_REQUIRED, with this token in the SESSION_SETUP response. */
  | { state: 'continue'; token: Buffer }
  | {
      state: 'done';
      token: Buffer;
      user: AuthenticatedUser;
      /** 16 bytes: NTLMSSP's ExportedSessionKey (after key exchange); zeros for a guest. */
      sessionKey: Buffer;
      /** A guest or anonymous logon: SMB2_SESSION_FLAG_IS_GUEST / IS_NULL, never signed. */
      guest: boolean;
      /** The guest logon was anonymous (no user name, no response): IS_NULL rather than IS_GUEST. */
      anonymous?: true;
    }
  | { state: 'failed'; status: AcceptorFailureStatus; reason: string };

export interface NtlmAcceptorOptions {
  /** The NetBIOS domain (--domain): CHALLENGE TargetName and MsvAvNbDomainName. */
  netbiosDomain: string;
  /** MsvAvDnsDomainName; the NetBIOS domain in lower case when absent. */
  dnsDomain?: string;
  /** MsvAvNbComputerName (and, under dnsDomain, MsvAvDnsComputerName). */
  serverName: string;
  /** The workgroup (--workgroup): a domain name clients may log on with; the account is still local. */
  workgroup: string;
  lookup: NtlmUserLookup;
  /**
   * Samba's `map to guest = Bad User`: anonymous logons, and logons as a user name with no
   * account ("guest" or any other), become guest sessions. A known user's wrong password fails.
   */
  allowGuest?: boolean;
  /** Who a guest session runs as: nobody (65534) unless given. */
  guestIdentity?: { name: string; uid: number; gid: number; gids: number[] };
  now?: () => Date;
  /** Where the server challenge comes from (tests pin it to replay published exchanges). */
  randomBytes?: (n: number) => Buffer;
  /** Shared across acceptors; the process-wide cache unless given. */
  replayCache?: ReplayCache;
}

type Phase = 'start' | 'await-negotiate' | 'challenged' | 'await-mech-list-mic' | 'busy' | 'done' | 'failed';

const NOBODY = { name: 'nobody', uid: 65534, gid: 65534, gids: [] as number[] };
/** Verified against when the account is unknown, so that costs the time of a wrong password. */
const DUMMY_NT_HASH = randomBytes(16);
/** Windows 6.1 build 7600, NTLMSSP revision 15 (MS-NLMP 2.2.2.10): the VERSION we announce. */
const SERVER_VERSION = Buffer.from([6, 1, 0xb0, 0x1d, 0, 0, 0, 0x0f]);
/** Client flags the server echoes when asked (MS-NLMP 3.2.5.1.1). */
const ECHOED_FLAGS = [
  NTLMSSP.REQUEST_TARGET,
  NTLMSSP.NEGOTIATE_SIGN,
  NTLMSSP.NEGOTIATE_SEAL,
  NTLMSSP.NEGOTIATE_ALWAYS_SIGN,
  NTLMSSP.NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP.NEGOTIATE_VERSION,
  NTLMSSP.NEGOTIATE_128,
  NTLMSSP.NEGOTIATE_56,
  NTLMSSP.NEGOTIATE_KEY_EXCH,
];

const fail = (status: AcceptorFailureStatus, reason: string): AcceptorStep => ({
  state: 'failed',
  status,
  reason,
});

/**
 * The server side of NTLMSSP (MS-NLMP 3.2.5) inside SPNEGO (RFC 4178), one SESSION_SETUP security
 * buffer per step. NTLMv2 only: NTLMv1 and LM responses fail with STATUS_LOGON_FAILURE, as
 * Windows answers them with LmCompatibilityLevel 5 and Samba with `ntlm auth = ntlmv2-only`.
 *
 *   start ─NegTokenInit(NTLMSSP first, NEGOTIATE)──────────────▶ challenged ─AUTHENTICATE─▶ done
 *     │   NegTokenInit(NTLMSSP later, or no token) ─▶ await-negotiate ─NEGOTIATE─┘    │
 *     │                                                          (MIC, no mechListMIC)▼
 *     └ raw NTLMSSP NEGOTIATE ─▶ challenged (raw)                    await-mech-list-mic ─▶ done
 *
 * mechListMIC (RFC 4178 §5) as Samba's acceptor does it: when NTLMSSP signing is negotiated and
 * the client either put a MIC in its AUTHENTICATE or sent a mechListMIC, the client's is
 * verified (in this round, or one more if it sent none yet) and ours goes in the reply.
 * Any failure is final: later steps fail too.
 */
export class NtlmAcceptor {
  private phase: Phase = 'start';
  private mode: 'spnego' | 'raw' | undefined;
  private supportedMechSent = false;
  private mechTypesDer: Buffer = Buffer.alloc(0);
  private negotiateRaw: Buffer = Buffer.alloc(0);
  private challengeRaw: Buffer = Buffer.alloc(0);
  private challengeFlags = 0;
  private serverChallenge: Buffer = Buffer.alloc(0);
  private pending: { user: AuthenticatedUser; sessionKey: Buffer; security: NtlmSessionSecurity } | undefined;
  private readonly now: () => Date;
  private readonly random: (n: number) => Buffer;
  private readonly replayCache: ReplayCache;

  constructor(private readonly opts: NtlmAcceptorOptions) {
    this.now = opts.now ?? (() => new Date());
    this.random = opts.randomBytes ?? randomBytes;
    this.replayCache = opts.replayCache ?? processReplayCache;
  }

  /** SPNEGO NegTokenInit the server puts in the NEGOTIATE response security buffer. */
  static negotiateToken(): Buffer {
    return encodeNegTokenInit({ mechTypes: [OID.NTLMSSP] });
  }

  /** Feed one SESSION_SETUP security buffer (SPNEGO-wrapped or raw NTLMSSP). */
  async step(token: Buffer): Promise<AcceptorStep> {
    const from = this.phase;
    if (from === 'busy') return fail('STATUS_INVALID_PARAMETER', 'a step is already in progress');
    if (from === 'done') return fail('STATUS_INVALID_PARAMETER', 'authentication already completed');
    if (from === 'failed') return fail('STATUS_INVALID_PARAMETER', 'authentication already failed');
    this.phase = 'busy';
    let result: AcceptorStep;
    try {
      result = await this.dispatch(Buffer.from(token), from);
    } catch (e) {
      this.phase = 'failed';
      if (e instanceof DerError || e instanceof NtlmError) return fail('STATUS_INVALID_PARAMETER', e.message);
      throw e;
    }
    if (result.state === 'done') this.phase = 'done';
    else if (result.state === 'failed' || this.phase === 'busy') this.phase = 'failed';
    return result;
  }

  private async dispatch(token: Buffer, from: Phase): Promise<AcceptorStep> {
    if (token.length === 0) {
      if (from !== 'start') return fail('STATUS_INVALID_PARAMETER', 'empty security buffer mid-exchange');
      // A client that starts without a token is offered the mechanisms, as in NEGOTIATE.
      this.phase = 'start';
      return { state: 'continue', token: NtlmAcceptor.negotiateToken() };
    }
    const raw = ntlmMessageType(token) !== undefined;
    this.mode ??= raw ? 'raw' : 'spnego';
    if ((this.mode === 'raw') !== raw)
      return fail('STATUS_INVALID_PARAMETER', 'mixes raw NTLMSSP and SPNEGO');

    if (raw) {
      if (from === 'start') return this.onNegotiate(token);
      if (from === 'challenged') return this.onAuthenticate(token, undefined);
      return fail('STATUS_INVALID_PARAMETER', `unexpected NTLMSSP message in state ${from}`);
    }

    const spnego = decodeSpnego(token);
    if (spnego.kind === 'init') {
      if (from !== 'start') return fail('STATUS_INVALID_PARAMETER', 'NegTokenInit after the exchange began');
      return this.onInit(spnego.init);
    }
    const resp = spnego.resp;
    if (resp.negState === 'reject')
      return fail('STATUS_LOGON_FAILURE', 'the client rejected the negotiation');
    switch (from) {
      case 'await-negotiate':
        if (resp.responseToken === undefined)
          return fail('STATUS_INVALID_PARAMETER', 'NegTokenResp without NEGOTIATE');
        return this.onNegotiate(resp.responseToken);
      case 'challenged':
        if (resp.responseToken === undefined)
          return fail('STATUS_INVALID_PARAMETER', 'NegTokenResp without AUTHENTICATE');
        return this.onAuthenticate(resp.responseToken, resp.mechListMIC);
      case 'await-mech-list-mic':
        return this.onMechListMic(resp);
      default:
        return fail('STATUS_INVALID_PARAMETER', 'NegTokenResp before NegTokenInit');
    }
  }

  private onInit(init: NegTokenInit): AcceptorStep {
    if (!init.mechTypes.includes(OID.NTLMSSP))
      return fail('STATUS_NOT_SUPPORTED', `no offered mechanism (${init.mechTypes.join(', ')}) is NTLMSSP`);
    this.mechTypesDer = Buffer.from(init.mechTypesDer);
    if (init.mechTypes[0] === OID.NTLMSSP && init.mechToken !== undefined)
      return this.onNegotiate(init.mechToken);
    this.phase = 'await-negotiate';
    // RFC 4178 §5: choosing other than the client's first mechanism asks for the MIC exchange;
    // the optimistic token for the client's first choice is dropped.
    return this.reply({
      negState: init.mechTypes[0] === OID.NTLMSSP ? 'accept-incomplete' : 'request-mic',
    });
  }

  private reply(resp: NegTokenResp): AcceptorStep {
    if (!this.supportedMechSent) {
      resp.supportedMech = OID.NTLMSSP;
      this.supportedMechSent = true;
    }
    return { state: 'continue', token: encodeNegTokenResp(resp) };
  }

  private onNegotiate(message: Buffer): AcceptorStep {
    if (ntlmMessageType(message) !== MESSAGE_TYPE.NEGOTIATE)
      return fail('STATUS_INVALID_PARAMETER', 'expected an NTLMSSP NEGOTIATE_MESSAGE');
    const negotiate = decodeNegotiate(message);
    const flags = challengeFlags(negotiate.flags);
    const challenge = encodeChallenge({
      flags,
      targetName: this.opts.netbiosDomain,
      serverChallenge: this.random(8),
      targetInfo: this.targetInfo(),
      version: SERVER_VERSION,
    });
    this.negotiateRaw = Buffer.from(message);
    this.challengeRaw = challenge;
    this.challengeFlags = flags;
    this.serverChallenge = Buffer.from(challenge.subarray(24, 32));
    this.phase = 'challenged';
    if (this.mode === 'raw') return { state: 'continue', token: challenge };
    return this.reply({ negState: 'accept-incomplete', responseToken: challenge });
  }

  /** TargetInfo (MS-NLMP 3.2.5.1.1): the names, and a timestamp so clients send a MIC. */
  private targetInfo(): Buffer {
    const o = this.opts;
    const dnsDomain = o.dnsDomain ?? o.netbiosDomain.toLowerCase();
    const dnsComputer = o.dnsDomain
      ? `${o.serverName.toLowerCase()}.${o.dnsDomain}`
      : o.serverName.toLowerCase();
    const u = (s: string): Buffer => Buffer.from(s, 'utf16le');
    const time = Buffer.alloc(8);
    time.writeBigUInt64LE(fileTime(this.now().getTime()));
    const pairs: AvPair[] = [
      { id: AV.NB_DOMAIN_NAME, value: u(o.netbiosDomain) },
      { id: AV.NB_COMPUTER_NAME, value: u(o.serverName) },
      { id: AV.DNS_DOMAIN_NAME, value: u(dnsDomain) },
      { id: AV.DNS_COMPUTER_NAME, value: u(dnsComputer) },
      { id: AV.TIMESTAMP, value: time },
    ];
    return encodeAvPairs(pairs);
  }

  private async onAuthenticate(message: Buffer, mechListMIC: Buffer | undefined): Promise<AcceptorStep> {
    if (ntlmMessageType(message) !== MESSAGE_TYPE.AUTHENTICATE)
      return fail('STATUS_INVALID_PARAMETER', 'expected an NTLMSSP AUTHENTICATE_MESSAGE');
    const auth = decodeAuthenticate(message, (this.challengeFlags & NTLMSSP.NEGOTIATE_UNICODE) !== 0);
    const lm = auth.lmChallengeResponse;
    const nt = auth.ntChallengeResponse;

    // MS-NLMP 3.2.5.1.2: no user, no NT response, an empty or one-zero-byte LM response.
    if (auth.user === '' && nt.length === 0 && (lm.length === 0 || (lm.length === 1 && lm[0] === 0)))
      return this.guest('anonymous logon', true);
    if (nt.length === 0 || nt.length === 24)
      return fail('STATUS_LOGON_FAILURE', 'LM and NTLMv1 responses are refused: NTLMv2 only');
    if (auth.user === '') return fail('STATUS_LOGON_FAILURE', 'no user name');

    const response = parseNtlmv2Response(nt);
    const nowMs = this.now().getTime();
    const skew = Math.abs(nowMs - fileTimeToMs(response.time));
    if (!(skew <= NTLM_MAX_LIFETIME_MS))
      return fail('STATUS_LOGON_FAILURE', 'NTLMv2 response timestamp outside the accepted window');

    const record = await this.opts.lookup(auth.user, auth.domain);
    if (record === null) {
      verifyNtlmv2(DUMMY_NT_HASH, auth.user, auth.domain, this.serverChallenge, response);
      if (this.opts.allowGuest) return this.guest('guest logon', false);
      return fail('STATUS_LOGON_FAILURE', `unknown user or wrong password for '${auth.user}'`);
    }
    if (record.ntHash.length !== 16) throw new TypeError(`the NT hash of '${record.name}' is not 16 bytes`);
    const baseKey = verifyNtlmv2(record.ntHash, auth.user, auth.domain, this.serverChallenge, response);
    if (baseKey === null)
      return fail('STATUS_LOGON_FAILURE', `unknown user or wrong password for '${auth.user}'`);
    if (record.disabled) return fail('STATUS_ACCOUNT_DISABLED', `account '${record.name}' is disabled`);

    const negotiated = auth.flags & this.challengeFlags;
    const keyExch = (negotiated & NTLMSSP.NEGOTIATE_KEY_EXCH) !== 0;
    const sessionKey = exportedSessionKey(baseKey, keyExch ? auth.encryptedRandomSessionKey : undefined);

    const avFlags = response.avPairs.find((p) => p.id === AV.FLAGS);
    const micPresent =
      avFlags?.value.length === 4 && (avFlags.value.readUInt32LE(0) & AV_FLAG_MIC_PRESENT) !== 0;
    if (micPresent) {
      if (auth.micField === undefined)
        return fail('STATUS_INVALID_PARAMETER', 'MsvAvFlags announces a MIC the message has no room for');
      const mic = computeMic(sessionKey, this.negotiateRaw, this.challengeRaw, message);
      if (!timingSafeEqual(mic, auth.micField))
        return fail('STATUS_LOGON_FAILURE', 'NTLMSSP MIC mismatch: the exchange was altered');
    }

    if (this.replayCache.checkAndRecord(response.ntProofStr.toString('hex'), nowMs))
      return fail('STATUS_LOGON_FAILURE', 'replayed AUTHENTICATE_MESSAGE');

    const user: AuthenticatedUser = {
      name: record.name,
      uid: record.uid,
      gid: record.gid,
      gids: [...record.gids],
      domain: this.opts.netbiosDomain,
    };
    if (this.mode === 'raw') return { state: 'done', token: Buffer.alloc(0), user, sessionKey, guest: false };

    const signing = (negotiated & NTLMSSP.NEGOTIATE_SIGN) !== 0;
    if (!signing || (!micPresent && mechListMIC === undefined))
      return {
        state: 'done',
        token: encodeNegTokenResp({ negState: 'accept-completed' }),
        user,
        sessionKey,
        guest: false,
      };

    if ((negotiated & NTLMSSP.NEGOTIATE_EXTENDED_SESSIONSECURITY) === 0)
      return fail('STATUS_NOT_SUPPORTED', 'mechListMIC needs NTLMSSP extended session security');
    const security = new NtlmSessionSecurity(sessionKey, negotiated, 'server');
    if (mechListMIC !== undefined) {
      if (!security.verify(this.mechTypesDer, mechListMIC))
        return fail('STATUS_LOGON_FAILURE', 'mechListMIC mismatch: the SPNEGO negotiation was altered');
      const token = encodeNegTokenResp({
        negState: 'accept-completed',
        mechListMIC: security.sign(this.mechTypesDer),
      });
      return { state: 'done', token, user, sessionKey, guest: false };
    }
    this.pending = { user, sessionKey, security };
    this.phase = 'await-mech-list-mic';
    return this.reply({ negState: 'accept-incomplete', mechListMIC: security.sign(this.mechTypesDer) });
  }

  private onMechListMic(resp: NegTokenResp): AcceptorStep {
    const pending = this.pending;
    if (pending === undefined)
      return fail('STATUS_INVALID_PARAMETER', 'no authentication awaits a mechListMIC');
    if (resp.responseToken !== undefined && resp.responseToken.length > 0)
      return fail('STATUS_INVALID_PARAMETER', 'a token where only the mechListMIC was expected');
    if (resp.mechListMIC === undefined)
      return fail('STATUS_INVALID_PARAMETER', 'the client sent no mechListMIC');
    if (!pending.security.verify(this.mechTypesDer, resp.mechListMIC))
      return fail('STATUS_LOGON_FAILURE', 'mechListMIC mismatch: the SPNEGO negotiation was altered');
    this.pending = undefined;
    return {
      state: 'done',
      token: encodeNegTokenResp({ negState: 'accept-completed' }),
      user: pending.user,
      sessionKey: pending.sessionKey,
      guest: false,
    };
  }

  private guest(kind: string, anonymous: boolean): AcceptorStep {
    if (!this.opts.allowGuest) return fail('STATUS_LOGON_FAILURE', `${kind} is not allowed`);
    const g = this.opts.guestIdentity ?? NOBODY;
    return {
      state: 'done',
      token: this.mode === 'raw' ? Buffer.alloc(0) : encodeNegTokenResp({ negState: 'accept-completed' }),
      user: { name: g.name, uid: g.uid, gid: g.gid, gids: [...g.gids], domain: this.opts.netbiosDomain },
      sessionKey: Buffer.alloc(16),
      guest: true,
      ...(anonymous ? { anonymous: true as const } : {}),
    };
  }
}

/** The CHALLENGE's NegotiateFlags for a client's NEGOTIATE flags (MS-NLMP 3.2.5.1.1). */
export function challengeFlags(client: number): number {
  let flags =
    NTLMSSP.NEGOTIATE_NTLM |
    NTLMSSP.NEGOTIATE_TARGET_INFO |
    NTLMSSP.TARGET_TYPE_DOMAIN |
    (client & NTLMSSP.NEGOTIATE_UNICODE ? NTLMSSP.NEGOTIATE_UNICODE : NTLMSSP.NEGOTIATE_OEM);
  for (const f of ECHOED_FLAGS) if (client & f) flags |= f;
  return flags >>> 0;
}
