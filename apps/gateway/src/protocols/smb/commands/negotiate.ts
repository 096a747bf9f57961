import {
  CAP,
  CIPHER,
  DIALECT,
  MAX_IO_LARGE,
  MAX_IO_SMALL,
  SIGNING_ALG,
  SIGNING_ENABLED,
  SIGNING_REQUIRED,
  SUPPORTED_DIALECTS,
} from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS, NtlmAcceptor } from '../deps.ts';
import { Disconnect, SmbError } from '../errors.ts';
import { nowFiletime } from '../filetime.ts';
import { HEADER_SIZE } from '../header.ts';
import {
  type ContextChoice,
  chooseContexts,
  decodeContexts,
  encodeContexts,
  type NegotiateContext,
} from '../negotiate-contexts.ts';
import type { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';

export interface NegotiateRequest {
  securityMode: number;
  capabilities: number;
  clientGuid: Buffer;
  dialects: number[];
  contexts: NegotiateContext[];
}

export interface NegotiateResponse {
  securityMode: number;
  dialect: number;
  serverGuid: Buffer;
  capabilities: number;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  systemTime: bigint;
  serverStartTime: bigint;
  securityBuffer: Buffer;
  contexts?: ContextChoice;
}

/** MS-SMB2 §2.2.3. */
export function decodeNegotiate(r: Reader): NegotiateRequest {
  r.structureSize(36);
  const dialectCount = r.u16('DialectCount');
  const securityMode = r.u16('SecurityMode');
  r.skip(2, 'Reserved');
  const capabilities = r.u32('Capabilities');
  const clientGuid = Buffer.from(r.bytes(16, 'ClientGuid'));
  const ctxOffset = r.u32('NegotiateContextOffset');
  const ctxCount = r.u16('NegotiateContextCount');
  r.skip(2, 'Reserved2');
  const dialects: number[] = [];
  for (let i = 0; i < dialectCount; i++) dialects.push(r.u16('Dialects'));
  const contexts = dialects.includes(DIALECT.SMB311) ? decodeContexts(r, ctxOffset, ctxCount) : [];
  return { securityMode, capabilities, clientGuid, dialects, contexts };
}

/** The answer to an SMB1 NEGOTIATE that names SMB2 dialects (§3.3.5.3.1): 2.0.2 or the wildcard. */
export function smb1NegotiateAnswer(
  ctx: { env: RequestContext['env']; conn: RequestContext['conn'] },
  dialect: number,
): NegotiateResponse {
  const c = ctx.conn;
  c.serverSecurityMode = SIGNING_ENABLED | (ctx.env.config.smb.requireSigning ? SIGNING_REQUIRED : 0);
  c.serverCapabilities = 0;
  if (dialect === DIALECT.SMB202) setDialect(c, DIALECT.SMB202);
  return response(ctx, dialect);
}

function setDialect(c: RequestContext['conn'], dialect: number): void {
  c.dialect = dialect;
  const large = dialect >= DIALECT.SMB21;
  c.maxTransactSize = large ? MAX_IO_LARGE : MAX_IO_SMALL;
  c.maxReadSize = c.maxTransactSize;
  c.maxWriteSize = c.maxTransactSize;
}

function response(
  ctx: { env: RequestContext['env']; conn: RequestContext['conn'] },
  dialect: number,
): NegotiateResponse {
  const c = ctx.conn;
  const size = dialect >= DIALECT.SMB21 && dialect !== DIALECT.WILDCARD ? MAX_IO_LARGE : MAX_IO_SMALL;
  return {
    securityMode: c.serverSecurityMode,
    dialect,
    serverGuid: ctx.env.serverGuid,
    capabilities: c.serverCapabilities,
    maxTransactSize: size,
    maxReadSize: size,
    maxWriteSize: size,
    systemTime: nowFiletime(),
    serverStartTime: 0n,
    securityBuffer: NtlmAcceptor.negotiateToken(),
  };
}

/** MS-SMB2 §3.3.5.4. */
export async function handleNegotiate(
  ctx: RequestContext,
  req: NegotiateRequest,
): Promise<NegotiateResponse> {
  const c = ctx.conn;
  // A second NEGOTIATE on a connection: disconnect, no reply (the wildcard answer excepted).
  if (c.dialect !== 0) throw new Disconnect('NEGOTIATE on a negotiated connection');
  if (req.dialects.length === 0) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'DialectCount is 0');
  const dialect = [...SUPPORTED_DIALECTS].reverse().find((d) => req.dialects.includes(d));
  if (dialect === undefined) throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, 'no common dialect');
  let contexts: ContextChoice | undefined;
  if (dialect === DIALECT.SMB311) contexts = chooseContexts(req.contexts);

  c.clientCapabilities = req.capabilities;
  c.clientSecurityMode = req.securityMode;
  c.clientGuid = req.clientGuid;
  c.clientDialects = req.dialects;
  c.serverSecurityMode = SIGNING_ENABLED | (ctx.env.config.smb.requireSigning ? SIGNING_REQUIRED : 0);
  let caps = 0;
  if (dialect >= DIALECT.SMB21) caps |= CAP.LARGE_MTU | CAP.LEASING;
  // smb.encryption: off offers no encryption: no capability (3.0, 3.0.2), no cipher context (3.1.1).
  const offered = ctx.env.config.smb.encryption !== 'off';
  if (
    offered &&
    (dialect === DIALECT.SMB30 || dialect === DIALECT.SMB302) &&
    req.capabilities & CAP.ENCRYPTION
  ) {
    caps |= CAP.ENCRYPTION;
    c.cipher = CIPHER.AES128_CCM;
  }
  if (contexts && !offered) contexts.cipher = undefined;
  if (dialect === DIALECT.SMB311 && contexts?.cipher) c.cipher = contexts.cipher;
  c.signingGmac = contexts?.signing === SIGNING_ALG.AES_GMAC;
  c.serverCapabilities = caps;
  setDialect(c, dialect);
  const res = response(ctx, dialect);
  res.contexts = contexts;
  return res;
}

/** MS-SMB2 §2.2.4. */
export function encodeNegotiate(res: NegotiateResponse): Buffer {
  const w = new Writer(256);
  const securityOffset = HEADER_SIZE + 64;
  w.u16(65).u16(res.securityMode).u16(res.dialect);
  const ctxCountAt = w.length;
  w.u16(0);
  w.bytes(res.serverGuid);
  w.u32(res.capabilities).u32(res.maxTransactSize).u32(res.maxReadSize).u32(res.maxWriteSize);
  w.u64(res.systemTime).u64(res.serverStartTime);
  w.u16(securityOffset).u16(res.securityBuffer.length);
  const ctxOffsetAt = w.length;
  w.u32(0);
  w.bytes(res.securityBuffer);
  if (res.contexts) {
    // Offsets count from the header: the body starts at 64, which is 8-aligned.
    w.align(8);
    w.at(ctxOffsetAt).u32(HEADER_SIZE + w.length);
    w.at(ctxCountAt).u16(encodeContexts(w, res.contexts));
  } else if (res.securityBuffer.length === 0) {
    w.u8(0);
  }
  return w.finish();
}
