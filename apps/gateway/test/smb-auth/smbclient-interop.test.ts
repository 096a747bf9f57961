/**
 * A real client: smbclient (Samba 4.17) logs on to mini-smb2.ts, which runs the acceptor and the
 * crypto layer, in every dialect. What it proves, per row: smbclient's SPNEGO/NTLMSSP tokens
 * parse and verify (NTLMv2 with MIC and mechListMIC), smbclient accepts our CHALLENGE, our
 * mechListMIC and our signed final SESSION_SETUP response (3.1.1: keys from the
 * pre-authentication hash), and its first request after logon verifies under our signing key
 * (HMAC-SHA256 for 2.x, AES-CMAC for 3.x) or opens under our decryption key (AES-128-CCM, GCM) —
 * and smbclient in turn opens or verifies our reply (it reports STATUS_BAD_NETWORK_NAME, the
 * status inside it, instead of a signing or decryption error).
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AV,
  AV_FLAG_MIC_PRESENT,
  decodeAuthenticate,
  decodeAvPairs,
  decodeNegotiate,
  decodeSpnego,
  NTLM_MAX_LIFETIME_MS,
  NTLMSSP,
  OID,
  parseNtlmv2Response,
  ReplayCache,
} from '../../src/protocols/smb/auth/index.ts';
import type { Smb2Cipher, Smb2Dialect } from '../../src/protocols/smb/crypto/index.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { startMiniServer, type Transcript } from './mini-smb2.ts';
import { ntHashOf } from './ntlm-client.ts';

const tools = requireTools('smbclient');

async function smbclientLogon(
  dialect: Smb2Dialect,
  encryptWith: Smb2Cipher | undefined,
  password: string,
): Promise<{ output: string; transcript: Transcript }> {
  const mini = await startMiniServer({
    dialect,
    ...(encryptWith ? { encryptWith } : {}),
    acceptor: {
      netbiosDomain: 'CLAUDEFS',
      serverName: 'GATEWAY',
      workgroup: 'CLAUDEFS',
      replayCache: new ReplayCache(NTLM_MAX_LIFETIME_MS),
      lookup: async (user) =>
        user.toLowerCase() === 'alice'
          ? { name: 'alice', ntHash: ntHashOf('Secret1!'), uid: 1001, gid: 1001, gids: [1001] }
          : null,
    },
  });
  const dir = makeTempDir('smbclient');
  try {
    const r = await runCommand(
      'smbclient',
      [
        '//127.0.0.1/share',
        '-p',
        String(mini.port),
        '-U',
        `alice%${password}`,
        '-W',
        'CLAUDEFS',
        '-s',
        '/dev/null',
        '--use-kerberos=disabled',
        `--client-protection=${encryptWith ? 'encrypt' : 'sign'}`,
        '--option=client min protocol=SMB2_02',
        '--option=client max protocol=SMB3_11',
        `--option=cache directory=${dir}`,
        `--option=lock directory=${dir}`,
        `--option=state directory=${dir}`,
        `--option=private dir=${dir}`,
        '-c',
        'ls',
      ],
      { timeoutMs: 60_000, name: 'smbclient' },
    );
    await Promise.race([mini.done, new Promise((resolve) => setTimeout(resolve, 5000))]);
    return { output: r.output, transcript: mini.transcript };
  } finally {
    mini.server.close();
  }
}

/** smbclient's own tokens, taken apart with our decoders. */
function checkClientTokens(t: Transcript): void {
  equal(t.clientTokens.length, 2);
  const init = decodeSpnego(t.clientTokens[0]!);
  if (init.kind !== 'init') throw new Error('first token is not a NegTokenInit');
  deepEqual(init.init.mechTypes, [OID.NTLMSSP]);
  const negotiate = decodeNegotiate(init.init.mechToken!);
  ok(negotiate.flags & NTLMSSP.NEGOTIATE_EXTENDED_SESSIONSECURITY);
  const resp = decodeSpnego(t.clientTokens[1]!);
  if (resp.kind !== 'resp') throw new Error('second token is not a NegTokenResp');
  equal(resp.resp.mechListMIC?.length, 16, 'smbclient sends its mechListMIC with AUTHENTICATE');
  const auth = decodeAuthenticate(resp.resp.responseToken!, true);
  deepEqual([auth.user, auth.domain], ['alice', 'CLAUDEFS']);
  const nt = parseNtlmv2Response(auth.ntChallengeResponse);
  const flags = nt.avPairs.find((p) => p.id === AV.FLAGS)?.value.readUInt32LE(0) ?? 0;
  ok(flags & AV_FLAG_MIC_PRESENT, 'smbclient puts a MIC in AUTHENTICATE when the CHALLENGE has a timestamp');
  ok(auth.micField && !auth.micField.equals(Buffer.alloc(16)));
  ok(decodeAvPairs(nt.temp.subarray(28), 'AvPairs').some((p) => p.id === AV.NB_DOMAIN_NAME));
}

describe('smbclient logs on through the acceptor and the crypto layer', () => {
  const rows: Array<[number, Smb2Dialect, Smb2Cipher | undefined]> = [
    [1, 0x0202, undefined],
    [2, 0x0210, undefined],
    [3, 0x0300, undefined],
    [4, 0x0302, undefined],
    [5, 0x0311, undefined],
    [6, 0x0300, 'AES-128-CCM'],
    [7, 0x0311, 'AES-128-CCM'],
    [8, 0x0311, 'AES-128-GCM'],
  ];
  for (const [n, dialect, cipher] of rows) {
    const what = cipher ? `encrypted with ${cipher}` : 'signed';
    test(`row ${n}: dialect 0x${dialect.toString(16).padStart(4, '0')}, ${what}`, tools, async () => {
      const { output, transcript: t } = await smbclientLogon(dialect, cipher, 'Secret1!');
      deepEqual(t.problems, [], output);
      deepEqual(
        t.steps.map((s) => s.state),
        ['continue', 'done'],
      );
      checkClientTokens(t);
      const first = t.afterLogon[0];
      ok(first, `smbclient sent nothing after logon:\n${output}`);
      equal(first.command, 3, 'TREE_CONNECT');
      if (cipher) equal(first.encrypted, true);
      else deepEqual([first.signed, first.signatureValid], [true, true]);
      ok(/NT_STATUS_BAD_NETWORK_NAME/.test(output), output);
    });
  }

  test('row 9: a wrong password — STATUS_LOGON_FAILURE, and smbclient says so', tools, async () => {
    const { output, transcript: t } = await smbclientLogon(0x0311, undefined, 'wrong');
    const last = t.steps[t.steps.length - 1];
    equal(last?.state === 'failed' && last.status, 'STATUS_LOGON_FAILURE');
    ok(/NT_STATUS_LOGON_FAILURE/.test(output), output);
    deepEqual(t.afterLogon, []);
  });
});
