import type { SmbEncryption, SmbShareEncryption } from '../../config/types.ts';
import { DIALECT, dialectName, isSmb3 } from './constants.ts';

/**
 * `smb.encryption` and a share's `encryption` (Samba's `server smb encrypt`), as MS-SMB2 puts
 * them: EncryptData (desired, required) and RejectUnencryptedAccess (required), for the server
 * (§3.3.5.5: a session's SMB2_SESSION_FLAG_ENCRYPT_DATA) and for each share (§3.3.5.7:
 * SMB2_SHAREFLAG_ENCRYPT_DATA). A session or tree connect told to encrypt has every request
 * refused with STATUS_ACCESS_DENIED unless it comes encrypted (connection.ts).
 */

const STRENGTH: Record<SmbEncryption, number> = { off: 0, if_required: 1, desired: 2, required: 3 };

/** What applies to a share: its own setting or the server's, whichever asks for more. */
export function shareEncryption(server: SmbEncryption, share: SmbShareEncryption | undefined): SmbEncryption {
  return share !== undefined && STRENGTH[share] > STRENGTH[server] ? share : server;
}

/** A connection that can encrypt: SMB 3.x with a cipher agreed at NEGOTIATE. */
interface CipherState {
  dialect: number;
  cipher: number;
}

/** Why a connection (a guest session on it) cannot encrypt, for the refusal's log line; undefined when it can. */
export function cannotEncrypt(conn: CipherState, session?: { guest: boolean }): string | undefined {
  if (session?.guest) return 'a guest session cannot encrypt';
  if (!isSmb3(conn.dialect)) return `the client speaks ${dialectName(conn.dialect)}, which has no encryption`;
  if (conn.cipher !== 0) return undefined;
  return conn.dialect === DIALECT.SMB311
    ? 'the client offered no cipher the gateway has (AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM)'
    : 'the client did not offer encryption at NEGOTIATE';
}

/**
 * What a setting makes of a connection: encrypt (desired or required, and it can), refuse
 * (required, and it cannot), or plain (the client decides, as with if_required).
 */
export function encryptionVerdict(
  level: SmbEncryption,
  conn: CipherState,
  session?: { guest: boolean },
): 'encrypt' | 'refuse' | 'plain' {
  if (level !== 'desired' && level !== 'required') return 'plain';
  if (cannotEncrypt(conn, session) === undefined) return 'encrypt';
  return level === 'required' ? 'refuse' : 'plain';
}
