/** MS-SMB2 §2.2.1: command codes. */
export const CMD = {
  NEGOTIATE: 0x00,
  SESSION_SETUP: 0x01,
  LOGOFF: 0x02,
  TREE_CONNECT: 0x03,
  TREE_DISCONNECT: 0x04,
  CREATE: 0x05,
  CLOSE: 0x06,
  FLUSH: 0x07,
  READ: 0x08,
  WRITE: 0x09,
  LOCK: 0x0a,
  IOCTL: 0x0b,
  CANCEL: 0x0c,
  ECHO: 0x0d,
  QUERY_DIRECTORY: 0x0e,
  CHANGE_NOTIFY: 0x0f,
  QUERY_INFO: 0x10,
  SET_INFO: 0x11,
  OPLOCK_BREAK: 0x12,
} as const;

/** MS-SMB2 §2.2.1.2: header flags. */
export const FLAGS = {
  SERVER_TO_REDIR: 0x0000_0001,
  ASYNC_COMMAND: 0x0000_0002,
  RELATED_OPERATIONS: 0x0000_0004,
  SIGNED: 0x0000_0008,
  PRIORITY_MASK: 0x0000_0070,
  DFS_OPERATIONS: 0x1000_0000,
  REPLAY_OPERATION: 0x2000_0000,
} as const;

/** Dialect revisions (MS-SMB2 §2.2.3), in the order the server prefers the highest. */
export const DIALECT = {
  SMB202: 0x0202,
  SMB21: 0x0210,
  SMB30: 0x0300,
  SMB302: 0x0302,
  SMB311: 0x0311,
  /** "SMB 2.???": answered to an SMB1 negotiate that offers more than 2.0.2. */
  WILDCARD: 0x02ff,
} as const;

export const SUPPORTED_DIALECTS: readonly number[] = [
  DIALECT.SMB202,
  DIALECT.SMB21,
  DIALECT.SMB30,
  DIALECT.SMB302,
  DIALECT.SMB311,
];

export function dialectName(d: number): string {
  switch (d) {
    case DIALECT.SMB202:
      return 'SMB2_02';
    case DIALECT.SMB21:
      return 'SMB2_10';
    case DIALECT.SMB30:
      return 'SMB3_00';
    case DIALECT.SMB302:
      return 'SMB3_02';
    case DIALECT.SMB311:
      return 'SMB3_11';
    default:
      return `0x${d.toString(16).padStart(4, '0')}`;
  }
}

export const isSmb3 = (dialect: number): boolean => dialect >= DIALECT.SMB30 && dialect !== DIALECT.WILDCARD;

/** SecurityMode (NEGOTIATE, SESSION_SETUP). */
export const SIGNING_ENABLED = 0x0001;
export const SIGNING_REQUIRED = 0x0002;

/** Global capabilities (§2.2.4). */
export const CAP = {
  DFS: 0x01,
  LEASING: 0x02,
  LARGE_MTU: 0x04,
  MULTI_CHANNEL: 0x08,
  PERSISTENT_HANDLES: 0x10,
  DIRECTORY_LEASING: 0x20,
  ENCRYPTION: 0x40,
} as const;

/** SESSION_SETUP response SessionFlags. */
export const SESSION_FLAG = { IS_GUEST: 0x1, IS_NULL: 0x2, ENCRYPT_DATA: 0x4 } as const;

/** Negotiate context types (§2.2.3.1). */
export const NEG_CTX = {
  PREAUTH_INTEGRITY: 0x0001,
  ENCRYPTION: 0x0002,
  COMPRESSION: 0x0003,
  NETNAME: 0x0005,
  TRANSPORT: 0x0006,
  RDMA_TRANSFORM: 0x0007,
  SIGNING: 0x0008,
} as const;

export const HASH_SHA512 = 0x0001;

/** Ciphers (§2.2.3.1.2), the ones this server offers. */
export const CIPHER = {
  AES128_CCM: 0x0001,
  AES128_GCM: 0x0002,
  AES256_CCM: 0x0003,
  AES256_GCM: 0x0004,
} as const;
export type Cipher = (typeof CIPHER)[keyof typeof CIPHER];
/**
 * Preference among the ciphers a 3.1.1 client offers: GCM before CCM, 128-bit keys before
 * 256-bit ones (Windows Server's and Samba's default order); a client that offers only the
 * 256-bit ciphers gets one.
 */
export const CIPHER_PREFERENCE: readonly Cipher[] = [
  CIPHER.AES128_GCM,
  CIPHER.AES128_CCM,
  CIPHER.AES256_GCM,
  CIPHER.AES256_CCM,
];

export const SIGNING_ALG = { HMAC_SHA256: 0x0000, AES_CMAC: 0x0001, AES_GMAC: 0x0002 } as const;

/** Sizes this server advertises. 2.0.2 has no LARGE_MTU: 64 KiB. */
export const MAX_IO_LARGE = 8 * 1024 * 1024;
export const MAX_IO_SMALL = 64 * 1024;
/** Credits: one per 64 KiB of payload (§3.3.5.2.5). */
export const CREDIT_UNIT = 64 * 1024;
/** The most credits a client may hold at once (Samba's `smb2 max credits` default). */
export const MAX_CREDITS = 8192;

/** FileId of "the file the previous request in this compound opened" (§3.3.5.2.7.2). */
export const RELATED_FILE_ID = 0xffff_ffff_ffff_ffffn;
export const ANY_SESSION = 0xffff_ffff_ffff_ffffn;
export const ANY_TREE = 0xffff_ffff;

/** Access mask bits (MS-DTYP §2.4.3, MS-SMB2 §2.2.13.1). */
export const ACCESS = {
  FILE_READ_DATA: 0x0000_0001,
  FILE_LIST_DIRECTORY: 0x0000_0001,
  FILE_WRITE_DATA: 0x0000_0002,
  FILE_ADD_FILE: 0x0000_0002,
  FILE_APPEND_DATA: 0x0000_0004,
  FILE_ADD_SUBDIRECTORY: 0x0000_0004,
  FILE_READ_EA: 0x0000_0008,
  FILE_WRITE_EA: 0x0000_0010,
  FILE_EXECUTE: 0x0000_0020,
  FILE_TRAVERSE: 0x0000_0020,
  FILE_DELETE_CHILD: 0x0000_0040,
  FILE_READ_ATTRIBUTES: 0x0000_0080,
  FILE_WRITE_ATTRIBUTES: 0x0000_0100,
  DELETE: 0x0001_0000,
  READ_CONTROL: 0x0002_0000,
  WRITE_DAC: 0x0004_0000,
  WRITE_OWNER: 0x0008_0000,
  SYNCHRONIZE: 0x0010_0000,
  ACCESS_SYSTEM_SECURITY: 0x0100_0000,
  MAXIMUM_ALLOWED: 0x0200_0000,
  GENERIC_ALL: 0x1000_0000,
  GENERIC_EXECUTE: 0x2000_0000,
  GENERIC_WRITE: 0x4000_0000,
  GENERIC_READ: 0x8000_0000,
} as const;

export const FILE_ALL_ACCESS = 0x001f_01ff;
export const FILE_GENERIC_READ = 0x0012_0089;
export const FILE_GENERIC_WRITE = 0x0012_0116;
export const FILE_GENERIC_EXECUTE = 0x0012_00a0;

/** ShareAccess. */
export const SHARE = { READ: 0x1, WRITE: 0x2, DELETE: 0x4 } as const;

/** CreateDisposition. */
export const DISPOSITION = {
  SUPERSEDE: 0,
  OPEN: 1,
  CREATE: 2,
  OPEN_IF: 3,
  OVERWRITE: 4,
  OVERWRITE_IF: 5,
} as const;

/** Modes of what SMB creates (Samba's `create mask`/`directory mask` defaults, less group write). */
export const NEW_FILE_MODE = 0o644;
export const NEW_DIR_MODE = 0o755;

/** CreateAction in the CREATE response. */
export const CREATE_ACTION = { SUPERSEDED: 0, OPENED: 1, CREATED: 2, OVERWRITTEN: 3 } as const;

/** CreateOptions. */
export const OPTION = {
  DIRECTORY_FILE: 0x0000_0001,
  WRITE_THROUGH: 0x0000_0002,
  SEQUENTIAL_ONLY: 0x0000_0004,
  NO_INTERMEDIATE_BUFFERING: 0x0000_0008,
  SYNCHRONOUS_IO_ALERT: 0x0000_0010,
  SYNCHRONOUS_IO_NONALERT: 0x0000_0020,
  NON_DIRECTORY_FILE: 0x0000_0040,
  COMPLETE_IF_OPLOCKED: 0x0000_0100,
  NO_EA_KNOWLEDGE: 0x0000_0200,
  RANDOM_ACCESS: 0x0000_0800,
  DELETE_ON_CLOSE: 0x0000_1000,
  OPEN_BY_FILE_ID: 0x0000_2000,
  OPEN_FOR_BACKUP_INTENT: 0x0000_4000,
  NO_COMPRESSION: 0x0000_8000,
  OPEN_REMOTE_INSTANCE: 0x0000_0400,
  OPEN_REQUIRING_OPLOCK: 0x0001_0000,
  DISALLOW_EXCLUSIVE: 0x0002_0000,
  RESERVE_OPFILTER: 0x0010_0000,
  OPEN_REPARSE_POINT: 0x0020_0000,
  OPEN_NO_RECALL: 0x0040_0000,
  OPEN_FOR_FREE_SPACE_QUERY: 0x0080_0000,
} as const;

/** File attributes (MS-FSCC §2.6). */
export const ATTR = {
  READONLY: 0x0001,
  HIDDEN: 0x0002,
  SYSTEM: 0x0004,
  DIRECTORY: 0x0010,
  ARCHIVE: 0x0020,
  NORMAL: 0x0080,
  TEMPORARY: 0x0100,
  SPARSE_FILE: 0x0200,
  REPARSE_POINT: 0x0400,
  COMPRESSED: 0x0800,
  OFFLINE: 0x1000,
  NOT_CONTENT_INDEXED: 0x2000,
  ENCRYPTED: 0x4000,
} as const;

/** Attributes a client may set and we keep (in the DOS attribute xattr), as NTFS keeps them. */
export const SETTABLE_ATTRS =
  ATTR.READONLY |
  ATTR.HIDDEN |
  ATTR.SYSTEM |
  ATTR.ARCHIVE |
  ATTR.TEMPORARY |
  ATTR.OFFLINE |
  ATTR.NOT_CONTENT_INDEXED;

/** FileAttributes bits a request may carry (MS-FSCC §2.6); DEVICE, VOLUME and undefined bits are invalid. */
export const VALID_REQUEST_ATTRS = 0x0000_7fb7;

/** Oplock levels (§2.2.14 OplockLevel): this server grants BATCH to durable opens only. */
export const OPLOCK_LEVEL_NONE = 0x00;
export const OPLOCK_LEVEL_II = 0x01;
export const OPLOCK_LEVEL_EXCLUSIVE = 0x08;
export const OPLOCK_LEVEL_BATCH = 0x09;
export const OPLOCK_LEVEL_LEASE = 0xff;

/** Share types (TREE_CONNECT response). */
export const SHARE_TYPE = { DISK: 0x01, PIPE: 0x02, PRINT: 0x03 } as const;
/** TREE_CONNECT response ShareFlags (§2.2.10): the ones the gateway sets. */
export const SHARE_FLAG = { ENCRYPT_DATA: 0x8000 } as const;
