/** The SMB2 dialects this server speaks (MS-SMB2 2.2.3 Dialects). */
export type Smb2Dialect = 0x0202 | 0x0210 | 0x0300 | 0x0302 | 0x0311;

/**
 * Ciphers for SMB 3.x encryption (MS-SMB2 2.2.3.1.2: 0x0001 AES-128-CCM, 0x0002 AES-128-GCM,
 * 0x0003 AES-256-CCM, 0x0004 AES-256-GCM; the 256-bit ones through 3.1.1's negotiate context).
 */
export type Smb2Cipher = 'AES-128-CCM' | 'AES-128-GCM' | 'AES-256-CCM' | 'AES-256-GCM';

/** CCM (an 11-byte nonce, no streaming) rather than GCM. */
export function isCcm(cipher: Smb2Cipher): boolean {
  return cipher.endsWith('CCM');
}

/** The cipher's key size: 128 or 256 bits. */
export function keyBits(cipher: Smb2Cipher): 128 | 256 {
  return cipher.startsWith('AES-256') ? 256 : 128;
}

/** Node's (OpenSSL's) name of the cipher. */
export function opensslName(
  cipher: Smb2Cipher,
): 'aes-128-ccm' | 'aes-128-gcm' | 'aes-256-ccm' | 'aes-256-gcm' {
  return cipher.toLowerCase() as 'aes-128-ccm' | 'aes-128-gcm' | 'aes-256-ccm' | 'aes-256-gcm';
}

export const SMB2_DIALECTS: readonly Smb2Dialect[] = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];

export function isSmb3(dialect: Smb2Dialect): boolean {
  return dialect >= 0x0300;
}
