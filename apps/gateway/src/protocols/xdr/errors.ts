/**
 * A decoding failure: the bytes do not form the XDR the field's type requires. ONC RPC answers
 * it with GARBAGE_ARGS (RFC 5531 §9); `field` names what was being read.
 */
export class XdrError extends Error {
  override readonly name = 'XdrError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
