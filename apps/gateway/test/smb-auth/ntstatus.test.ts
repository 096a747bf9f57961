/**
 * The NTSTATUS table is generated (scripts/gen-ntstatus.mjs from samba-dev's ntstatus_gen.h and
 * ntstatus.h) and checked in: regenerating it must give the checked-in file byte for byte.
 */
import { equal, ok } from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isNtError, NT_STATUS, ntStatusName } from '../../src/protocols/smb/status/index.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../../../..');
const HEADER_DIR = '/usr/include/samba-4.0/core';
const haveHeaders =
  existsSync(join(HEADER_DIR, 'ntstatus_gen.h')) && existsSync(join(HEADER_DIR, 'ntstatus.h'));

describe('NTSTATUS table', () => {
  test('regenerating from the Samba headers reproduces the checked-in file', {
    skip: haveHeaders ? false : `no ${HEADER_DIR}/ntstatus_gen.h (apt-get install -y samba-dev)`,
  }, async () => {
    const dir = makeTempDir('ntstatus');
    const out = join(dir, 'ntstatus.ts');
    const r = await runCommand(process.execPath, [join(root, 'scripts/gen-ntstatus.mjs'), '--out', out], {
      timeoutMs: 30_000,
    });
    equal(r.code, 0, r.output);
    const checkedIn = readFileSync(join(root, 'apps/gateway/src/protocols/smb/status/ntstatus.ts'), 'utf8');
    ok(readFileSync(out, 'utf8') === checkedIn, 'ntstatus.ts is stale: run `node scripts/gen-ntstatus.mjs`');
  });

  test('the generator fails loudly without its headers', async () => {
    const dir = makeTempDir('ntstatus-missing');
    const r = await runCommand(
      process.execPath,
      [join(root, 'scripts/gen-ntstatus.mjs'), '--include', dir, '--out', join(dir, 'x.ts')],
      { timeoutMs: 30_000 },
    );
    equal(r.code, 1);
    ok(/cannot read .*ntstatus_gen\.h/.test(r.stderr), r.stderr);
  });

  const rows: Array<[number, keyof typeof NT_STATUS, number]> = [
    [1, 'STATUS_SUCCESS', 0x00000000],
    [2, 'STATUS_PENDING', 0x00000103],
    [3, 'STATUS_BUFFER_OVERFLOW', 0x80000005],
    [4, 'STATUS_MORE_PROCESSING_REQUIRED', 0xc0000016],
    [5, 'STATUS_ACCESS_DENIED', 0xc0000022],
    [6, 'STATUS_LOGON_FAILURE', 0xc000006d],
    [7, 'STATUS_ACCOUNT_DISABLED', 0xc0000072],
    [8, 'STATUS_INVALID_PARAMETER', 0xc000000d],
    [9, 'STATUS_NOT_SUPPORTED', 0xc00000bb],
    [10, 'STATUS_NETWORK_SESSION_EXPIRED', 0xc000035c],
    [11, 'STATUS_NO_SUCH_JOB', 0xc0000ede], // from ntstatus.h, written as 0xC0000000 | 0xEDE
    [12, 'STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP', 0xc05d0000],
  ];
  for (const [n, name, code] of rows) {
    test(`row ${n}: ${name} = 0x${code.toString(16).padStart(8, '0')}, and back`, () => {
      equal(NT_STATUS[name], code);
      equal(ntStatusName(code), name);
    });
  }

  test('shared values name the first definition; unknown codes print as hex', () => {
    equal(NT_STATUS.STATUS_WAIT_0, 0);
    equal(ntStatusName(0), 'STATUS_SUCCESS');
    equal(ntStatusName(0xc0ffee00), '0xc0ffee00');
    equal(ntStatusName(-1073741715), 'STATUS_LOGON_FAILURE', 'a signed int32 of the same bits');
    ok(Object.keys(NT_STATUS).length > 1700);
    ok(isNtError(NT_STATUS.STATUS_LOGON_FAILURE) && !isNtError(NT_STATUS.STATUS_BUFFER_OVERFLOW));
  });
});
