import { logRefusal } from '../../../daemon/refusal-log.ts';
import { SESSION_FLAG, SIGNING_REQUIRED } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { cipherName, deriveKeys, NT_STATUS, NtlmAcceptor, smb2Dialect, statusCode } from '../deps.ts';
import { cannotEncrypt, encryptionVerdict } from '../encryption.ts';
import { SmbError } from '../errors.ts';
import { HEADER_SIZE } from '../header.ts';
import { lookupSmbUser } from '../identity.ts';
import { Session } from '../session.ts';
import type { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';

const BINDING = 0x01;
/** A logon takes two round trips with NTLMSSP; more means a confused or hostile client. */
const MAX_ROUNDS = 4;

export interface SessionSetupRequest {
  flags: number;
  securityMode: number;
  capabilities: number;
  previousSessionId: bigint;
  token: Buffer;
}

export interface SessionSetupResponse {
  sessionFlags: number;
  token: Buffer;
}

/** MS-SMB2 §2.2.5. */
export function decodeSessionSetup(r: Reader): SessionSetupRequest {
  r.structureSize(25);
  const flags = r.u8('Flags');
  const securityMode = r.u8('SecurityMode');
  const capabilities = r.u32('Capabilities');
  r.skip(4, 'Channel');
  const offset = r.u16('SecurityBufferOffset');
  const length = r.u16('SecurityBufferLength');
  const previousSessionId = r.u64('PreviousSessionId');
  const token = Buffer.from(r.region(offset, length, 'SecurityBuffer', HEADER_SIZE + 24));
  return { flags, securityMode, capabilities, previousSessionId, token };
}

/** MS-SMB2 §3.3.5.5: NTLMSSP in SPNEGO through the acceptor; keys per §3.3.5.5.3. */
export async function handleSessionSetup(
  ctx: RequestContext,
  req: SessionSetupRequest,
): Promise<SessionSetupResponse> {
  const { conn, env } = ctx;
  // §3.3.5.5 steps 1-2: with encryption required, a client that cannot encrypt is refused first.
  const encryption = encryptionVerdict(env.config.smb.encryption, conn);
  if (encryption === 'refuse')
    throw new SmbError(
      NT_STATUS.STATUS_ACCESS_DENIED,
      `smb.encryption is required and ${cannotEncrypt(conn)}`,
    );
  if (req.flags & BINDING)
    throw new SmbError(NT_STATUS.STATUS_REQUEST_NOT_ACCEPTED, 'multichannel binding is not offered');
  let session: Session;
  if (ctx.hdr.sessionId === 0n) {
    const id = env.nextSessionId();
    session = new Session(id, `smb:${conn.id}:${id.toString(16)}`);
    session.preauth = conn.preauth?.clone();
    conn.sessions.set(id, session);
    env.sessions.set(id, { session, conn });
    ctx.replySessionId(id);
  } else {
    const found = conn.sessions.get(ctx.hdr.sessionId);
    if (!found) throw new SmbError(NT_STATUS.STATUS_USER_SESSION_DELETED, 'no such session');
    session = found;
    // Re-authentication of a valid session starts a new exchange (§3.3.5.5.2).
    if (session.state === 'valid' && !session.acceptor) session.preauth = conn.preauth?.clone();
  }
  ctx.hashRequest(session);
  // A failed logon drops the session; a failed re-authentication ends a valid one (its opens
  // close), as Samba does.
  const fail = async (status: number, reason: string): Promise<never> => {
    session.acceptor = undefined;
    if (session.state === 'in-progress') {
      conn.sessions.delete(session.id);
      env.sessions.delete(session.id);
    } else {
      await conn.logoff(session);
    }
    throw new SmbError(status, reason);
  };
  if (++session.rounds > MAX_ROUNDS) {
    await fail(NT_STATUS.STATUS_LOGON_FAILURE, 'too many SESSION_SETUP round trips');
  }
  session.acceptor ??= new NtlmAcceptor({
    netbiosDomain: env.config.smb.domain,
    workgroup: env.config.smb.workgroup,
    serverName: env.serverName,
    lookup: (user) => lookupSmbUser(env, user),
    allowGuest: env.config.smb.mapToGuest === 'bad_user',
  });
  const step = await session.acceptor.step(req.token);
  if (step.state === 'failed') {
    logRefusal(
      env.log,
      'info',
      conn.remoteAddress,
      'SMB logon failed',
      { reason: step.reason, remote: conn.remoteAddress },
      `SMB logon failed: ${step.reason}`,
    );
    return await fail(statusCode(step.status), step.reason);
  }
  if (step.state === 'continue') {
    ctx.replyStatus(NT_STATUS.STATUS_MORE_PROCESSING_REQUIRED);
    return { sessionFlags: 0, token: step.token };
  }
  // smb.map_to_guest: bad_user. A guest has no session key: it neither signs nor encrypts (§3.3.5.5.3).
  const guest = step.guest ? (step.anonymous ? 'anonymous' : 'guest') : undefined;
  if (guest && env.config.smb.encryption === 'required')
    return await fail(
      NT_STATUS.STATUS_ACCESS_DENIED,
      `smb.encryption is required and ${guest === 'guest' ? 'a guest' : 'an anonymous'} session cannot encrypt`,
    );
  const user = guest ? { ...step.user, name: guest } : step.user;
  if (session.state === 'valid' && session.user && session.user.name !== user.name) {
    return await fail(NT_STATUS.STATUS_ACCESS_DENIED, 're-authentication as another user');
  }
  session.acceptor = undefined;
  session.rounds = 0;
  // A re-authentication keeps the session's keys (§3.3.5.5.2: Session.SessionKey is retained);
  // the client signs and seals with them before and after it.
  if (session.state !== 'valid') {
    const keys = guest
      ? undefined
      : deriveKeys(
          smb2Dialect(conn.dialect),
          step.sessionKey,
          session.preauth?.value(),
          conn.cipher ? cipherName(conn.cipher) : undefined,
        );
    session.signingKey = keys?.signingKey;
    session.encryptionKey = keys?.encryptionKey;
    session.decryptionKey = keys?.decryptionKey;
    session.applicationKey = keys?.applicationKey;
  }
  session.guest = guest !== undefined;
  session.user = user;
  session.cred = { uid: user.uid, gid: user.gid, gids: user.gids };
  session.signingRequired =
    !guest &&
    (env.config.smb.requireSigning ||
      (req.securityMode & SIGNING_REQUIRED) !== 0 ||
      (conn.clientSecurityMode & SIGNING_REQUIRED) !== 0);
  session.encryptData = !guest && encryption === 'encrypt';
  session.state = 'valid';
  conn.describeSession(session);
  await endPreviousSession(ctx, session, req.previousSessionId);
  return { sessionFlags: sessionFlags(session, guest), token: step.token };
}

function sessionFlags(session: Session, guest: 'guest' | 'anonymous' | undefined): number {
  if (guest === 'anonymous') return SESSION_FLAG.IS_NULL;
  if (guest === 'guest') return SESSION_FLAG.IS_GUEST;
  return session.encryptData ? SESSION_FLAG.ENCRYPT_DATA : 0;
}

/**
 * MS-SMB2 §3.3.5.5.3: a client reconnecting names the session it had (PreviousSessionId); the
 * server ends that session if it belongs to the same user, as a LOGOFF would (durable opens
 * are kept for a reconnect).
 */
async function endPreviousSession(ctx: RequestContext, session: Session, previous: bigint): Promise<void> {
  // Guests share one name, not an identity: one cannot end another's session.
  if (previous === 0n || previous === session.id || session.guest) return;
  const prev = ctx.env.sessions.get(previous);
  if (prev?.session.state !== 'valid' || prev.session.user?.name !== session.user?.name) return;
  await prev.conn.logoff(prev.session, { keepDurable: true });
}

/** MS-SMB2 §2.2.6. */
export function encodeSessionSetup(res: SessionSetupResponse): Buffer {
  const w = new Writer(16 + res.token.length);
  w.u16(9)
    .u16(res.sessionFlags)
    .u16(res.token.length ? HEADER_SIZE + 8 : 0)
    .u16(res.token.length);
  if (res.token.length) w.bytes(res.token);
  else w.u8(0);
  return w.finish();
}
