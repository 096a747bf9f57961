/** A configuration value that does not parse; the message is shown to the operator as is. */
export class InvalidValue extends Error {
  override readonly name = 'InvalidValue';
}
