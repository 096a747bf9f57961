import type { Procedure } from '../procedure.ts';

/** NULL (RFC 1813 §3.3.0): no arguments, no results — a ping. */
export const nullProc: Procedure<void, void> = {
  decode: () => undefined,
  handle: async () => undefined,
  fail: async () => undefined,
  encode: () => {},
};
