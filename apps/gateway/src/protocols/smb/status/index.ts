import { NT_STATUS, type NtStatusName } from './ntstatus.ts';

export { NT_STATUS, type NtStatusName };

// First name wins where several share a value (STATUS_SUCCESS before STATUS_WAIT_0).
const NAMES = new Map<number, string>();
for (const [name, code] of Object.entries(NT_STATUS)) if (!NAMES.has(code)) NAMES.set(code, name);

/** The NTSTATUS name of a code ('STATUS_LOGON_FAILURE'), or its hex ('0xc0ffee00') when unknown. */
export function ntStatusName(code: number): string {
  const v = code >>> 0;
  return NAMES.get(v) ?? `0x${v.toString(16).padStart(8, '0')}`;
}

/** Whether an NTSTATUS is an error (severity 3, MS-ERREF 2.3). */
export function isNtError(code: number): boolean {
  return code >>> 30 === 3;
}
