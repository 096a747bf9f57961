import { DIALECT, SUPPORTED_DIALECTS } from '../constants.ts';
import type { ConnectionState, ServerEnv } from '../context.ts';
import { Disconnect } from '../errors.ts';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';

/**
 * MS-SMB2 §3.3.5.15.12: the client re-states what it negotiated; any difference (a downgrade
 * by a man in the middle) and a 3.1.1 connection asking at all end the connection.
 */
export function validateNegotiate(
  conn: ConnectionState,
  env: ServerEnv,
  input: Buffer,
  maxOutput: number,
): Buffer {
  if (conn.dialect === DIALECT.SMB311) throw new Disconnect('VALIDATE_NEGOTIATE_INFO on 3.1.1');
  if (maxOutput < 24) throw new Disconnect('VALIDATE_NEGOTIATE_INFO: MaxOutputResponse too small');
  const r = new Reader(input);
  let ok = false;
  try {
    const capabilities = r.u32('Capabilities');
    const guid = r.bytes(16, 'Guid');
    const securityMode = r.u16('SecurityMode');
    const count = r.u16('DialectCount');
    const dialects: number[] = [];
    for (let i = 0; i < count; i++) dialects.push(r.u16('Dialects'));
    const common = [...SUPPORTED_DIALECTS].reverse().find((d) => dialects.includes(d));
    ok =
      common === conn.dialect &&
      guid.equals(conn.clientGuid) &&
      securityMode === conn.clientSecurityMode &&
      capabilities === conn.clientCapabilities;
  } catch {
    ok = false;
  }
  if (!ok) throw new Disconnect('VALIDATE_NEGOTIATE_INFO does not match the negotiation');
  const w = new Writer(24);
  w.u32(conn.serverCapabilities).bytes(env.serverGuid).u16(conn.serverSecurityMode).u16(conn.dialect);
  return w.finish();
}
