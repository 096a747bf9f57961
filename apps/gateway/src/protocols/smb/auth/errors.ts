/**
 * A decoding failure in a security token: the bytes are not the ASN.1 DER (SPNEGO, RFC 4178)
 * or NTLMSSP message (MS-NLMP 2.2) the field requires. The acceptor answers either with
 * STATUS_INVALID_PARAMETER; `field` names what was being read.
 */
export class DerError extends Error {
  override readonly name = 'DerError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export class NtlmError extends Error {
  override readonly name = 'NtlmError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
