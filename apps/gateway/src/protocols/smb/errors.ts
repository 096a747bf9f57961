/**
 * A status error: becomes an SMB2 reply with this status and the error body (MS-SMB2
 * §2.2.2), optionally carrying ErrorData (e.g. the required size for STATUS_BUFFER_TOO_SMALL).
 */
export class SmbError extends Error {
  override readonly name = 'SmbError';
  constructor(
    readonly status: number,
    message: string,
    readonly errorData?: Buffer,
  ) {
    super(message);
  }
}

export function smbError(status: number, message: string, errorData?: Buffer): SmbError {
  return new SmbError(status, message, errorData);
}

/** The connection must close without a reply (MS-SMB2 "terminate the transport connection"). */
export class Disconnect extends Error {
  override readonly name = 'Disconnect';
}
