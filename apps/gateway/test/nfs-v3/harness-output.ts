/** The libnfs harness's `key value` lines (libnfs-harness.c) as a record: `calls 123` → { calls: '123' }. */
export function harnessFields(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
}
