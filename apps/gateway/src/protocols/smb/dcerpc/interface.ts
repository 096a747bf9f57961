/** What a call of an RPC interface answers: its response stub, or a fault PDU's status. */
export type OpResult = { stub: Buffer } | { fault: 'op_rng_error' | 'protocol_error' };

/** One DCE/RPC interface served on a named pipe of IPC$ (its abstract syntax, and its calls). */
export interface RpcInterface {
  readonly uuid: string;
  /** The major version; every interface served here has minor version 0. */
  readonly version: number;
  call(opnum: number, stub: Buffer): OpResult;
}
