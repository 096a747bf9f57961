/** The SMB2 dialects this server speaks (MS-SMB2 2.2.3 Dialects). */
export type Smb2Dialect = 0x0202 | 0x0210 | 0x0300 | 0x0302 | 0x0311;

/** Ciphers for SMB 3.x encryption (MS-SMB2 2.2.3.1.2: 0x0001 AES-128-CCM, 0x0002 AES-128-GCM). */
export type Smb2Cipher = 'AES-128-CCM' | 'AES-128-GCM';

export const SMB2_DIALECTS: readonly Smb2Dialect[] = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];

export function isSmb3(dialect: Smb2Dialect): boolean {
  return dialect >= 0x0300;
}
