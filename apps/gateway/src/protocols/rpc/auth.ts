import { XdrError } from '../xdr/errors.ts';
import { XdrReader } from '../xdr/reader.ts';
import type { XdrWriter } from '../xdr/writer.ts';
import {
  AUTH_SYS_MAX_GIDS,
  AUTH_SYS_MAX_MACHINE,
  AuthFlavor,
  AuthStat,
  MAX_AUTH_BYTES,
} from './constants.ts';
import type { AuthSysCred, RpcCred } from './program.ts';

/** Either the caller's credential, or the auth_stat that rejects the call. */
export type CredCheck = { ok: true; cred: RpcCred } | { ok: false; authStat: number };

/** authsys_parms (RFC 5531 appendix A), exactly: trailing bytes make a bad credential. */
export function decodeAuthSys(body: Buffer): AuthSysCred {
  const r = new XdrReader(body);
  const stamp = r.uint32('stamp');
  // Machine names are not always UTF-8 (it is whatever the client's nodename is): kept lossy.
  const machine = r.opaque(AUTH_SYS_MAX_MACHINE, 'machinename').toString('latin1');
  const uid = r.uint32('uid');
  const gid = r.uint32('gid');
  const gids = r.array(AUTH_SYS_MAX_GIDS, 'gids', () => r.uint32('gid'));
  r.end('authsys_parms');
  return { flavor: 'sys', stamp, machine, uid, gid, gids };
}

/**
 * The credential and verifier of a call (RFC 5531 §8.2, §9): AUTH_NONE with an empty body and
 * AUTH_SYS are understood; both take an AUTH_NONE verifier. A flavour we do not speak at all
 * (RPCSEC_GSS, AUTH_DH …) is "too weak" for every program: `unsupported` lets the caller say so.
 */
export function checkCredential(
  cred: { flavor: number; body: Buffer },
  verf: { flavor: number; body: Buffer },
): CredCheck | { ok: false; unsupported: true } {
  if (cred.body.length > MAX_AUTH_BYTES) return { ok: false, authStat: AuthStat.AUTH_BADCRED };
  if (cred.flavor !== AuthFlavor.NONE && cred.flavor !== AuthFlavor.SYS) {
    return { ok: false, unsupported: true };
  }
  if (verf.body.length > MAX_AUTH_BYTES || verf.flavor !== AuthFlavor.NONE || verf.body.length !== 0) {
    return { ok: false, authStat: AuthStat.AUTH_BADVERF };
  }
  if (cred.flavor === AuthFlavor.NONE) {
    return cred.body.length === 0
      ? { ok: true, cred: { flavor: 'none' } }
      : { ok: false, authStat: AuthStat.AUTH_BADCRED };
  }
  try {
    return { ok: true, cred: decodeAuthSys(cred.body) };
  } catch (e) {
    if (e instanceof XdrError) return { ok: false, authStat: AuthStat.AUTH_BADCRED };
    throw e;
  }
}

/**
 * A connection's last AUTH_SYS credential, decoded: a client sends the same credential bytes
 * on every call of a session, so a call whose bytes are the last ones takes the decoded
 * credential as it is (a byte comparison, where decoding allocated a reader, a string and an
 * array). The credential is frozen: every call of the connection shares it.
 */
export class CredentialMemo {
  private body: Buffer | undefined;
  private last: CredCheck | undefined;

  check(
    cred: { flavor: number; body: Buffer },
    verf: { flavor: number; body: Buffer },
  ): CredCheck | { ok: false; unsupported: true } {
    if (
      cred.flavor === AuthFlavor.SYS &&
      verf.flavor === AuthFlavor.NONE &&
      verf.body.length === 0 &&
      this.body !== undefined &&
      cred.body.equals(this.body)
    ) {
      return this.last!;
    }
    const r = checkCredential(cred, verf);
    if (r.ok && r.cred.flavor === 'sys') {
      Object.freeze(r.cred.gids);
      Object.freeze(r.cred);
      this.body = Buffer.from(cred.body);
      this.last = r;
    }
    return r;
  }
}

/** Writes a credential as opaque_auth. */
export function encodeCred(w: XdrWriter, cred: RpcCred): XdrWriter {
  if (cred.flavor === 'none') return w.uint32(AuthFlavor.NONE).uint32(0);
  const machine = Buffer.from(cred.machine, 'latin1');
  const bodyLength = 4 + 4 + machine.length + ((4 - (machine.length % 4)) % 4) + 8 + 4 + 4 * cred.gids.length;
  w.uint32(AuthFlavor.SYS).uint32(bodyLength);
  w.uint32(cred.stamp).opaque(machine).uint32(cred.uid).uint32(cred.gid).uint32(cred.gids.length);
  for (const g of cred.gids) w.uint32(g);
  return w;
}
