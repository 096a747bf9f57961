/**
 * NTLMv2 spec steps and NTLMSSP / SPNEGO codecs against published bytes.
 *
 * Sources:
 * - MS-NLMP §4.2.1 (common values: User "User", UserDom "Domain", Passwd "Password",
 *   RandomSessionKey 55…55, Time 0, ClientChallenge aa…aa, ServerChallenge 0123456789abcdef),
 *   §4.2.4.1.1 NTOWFv2, §4.2.4.1.2 SessionBaseKey, §4.2.4.2.1 LMv2, §4.2.4.2.2 NTLMv2 response,
 *   §4.2.4.2.3 encrypted session key, §4.2.4.3 CHALLENGE and AUTHENTICATE messages, §4.2.4.4
 *   GSS_WrapEx (sealing and signing keys, checksum).
 * - A Windows 10 ↔ Windows Server NTLMv2 logon inside SPNEGO, from Microsoft's "anatomy of
 *   signing and cryptographic keys" blog (fixtures.ts): its NEGOTIATE, CHALLENGE and
 *   AUTHENTICATE, MIC, key exchange, mechListMICs, and NTLMSSP signing/sealing keys.
 */
import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AV,
  computeMic,
  DerError,
  DerReader,
  decodeAuthenticate,
  decodeAvPairs,
  decodeChallenge,
  decodeNegotiate,
  decodeOid,
  decodeSpnego,
  encodeAuthenticate,
  encodeAvPairs,
  encodeChallenge,
  encodeMechTypeList,
  encodeNegotiate,
  encodeNegTokenInit,
  encodeNegTokenResp,
  encodeOid,
  exportedSessionKey,
  lmv2Response,
  NtlmAcceptor,
  NtlmError,
  NtlmSessionSecurity,
  ntlmMac,
  ntlmv2Temp,
  ntowfv1,
  ntowfv2,
  ntProofStr,
  OID,
  parseNtlmv2Response,
  sealKey,
  sessionBaseKey,
  signKey,
  upcaseUnicode,
  verifyNtlmv2,
} from '../../src/protocols/smb/auth/index.ts';
import { Rc4Stream, rc4 } from '../../src/protocols/smb/crypto/index.ts';
import { hex, securityBuffer, WINDOWS_311 } from './fixtures.ts';

const NLMP = {
  user: 'User',
  domain: 'Domain',
  password: 'Password',
  serverChallenge: hex('0123456789abcdef'),
  clientChallenge: hex('aaaaaaaaaaaaaaaa'),
  randomSessionKey: hex('55555555555555555555555555555555'),
  // §4.2.4: AV pairs NetBIOS domain "Domain", NetBIOS server "Server", then MsvAvEOL.
  avPairs: hex('02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200 00000000'),
  challenge: hex(`4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef000000000000000024002400
                  44000000060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c00
                  53006500720076006500720000000000`),
  authenticate: hex(`4e544c4d535350000300000018001800 6c00000054005400840000000c000c00
                     48000000080008005400000010001000 5c00000010001000d8000000358288e2
                     0501280a0000000f44006f006d006100 69006e00550073006500720043004f00
                     4d005000550054004500520086c35097 ac9cec102554764a57cccc19aaaaaaaa
                     aaaaaaaa68cd0ab851e51c96aabc927b ebef6a1c010100000000000000000000
                     00000000aaaaaaaaaaaaaaaa00000000 02000c0044006f006d00610069006e00
                     01000c00530065007200760065007200 0000000000000000c5dad2544fc97990
                     94ce1ce90bc9d03e`),
};

describe('MS-NLMP §4.2.4 NTLMv2 examples', () => {
  const responseKey = ntowfv2(ntowfv1(NLMP.password), NLMP.user, NLMP.domain);
  const temp = ntlmv2Temp(0n, NLMP.clientChallenge, NLMP.avPairs);
  const proof = ntProofStr(responseKey, NLMP.serverChallenge, temp);

  test('§4.2.4.1.1 NTOWFv2 (and NTOWFv1 of "Password")', () => {
    equal(ntowfv1(NLMP.password).toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
    equal(responseKey.toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
  });

  test('§4.2.4.2.1 LMv2 response', () => {
    equal(
      lmv2Response(responseKey, NLMP.serverChallenge, NLMP.clientChallenge).toString('hex'),
      '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa',
    );
  });

  test('§4.2.4.2.2 NTLMv2 response: temp and NTProofStr', () => {
    equal(
      temp.toString('hex'),
      '01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000' +
        '02000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000',
    );
    equal(proof.toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
  });

  test('§4.2.4.1.2 SessionBaseKey and §4.2.4.2.3 EncryptedRandomSessionKey', () => {
    const base = sessionBaseKey(responseKey, proof);
    equal(base.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3');
    equal(rc4(base, NLMP.randomSessionKey).toString('hex'), 'c5dad2544fc9799094ce1ce90bc9d03e');
    deepEqual(exportedSessionKey(base, hex('c5dad2544fc9799094ce1ce90bc9d03e')), NLMP.randomSessionKey);
    deepEqual(exportedSessionKey(base), base);
    throws(() => exportedSessionKey(base, Buffer.alloc(15)), NtlmError);
  });

  test('§4.2.4.3 CHALLENGE_MESSAGE decodes, and re-encodes to the same bytes', () => {
    const c = decodeChallenge(NLMP.challenge);
    equal(c.flags, 0xe28a8233);
    equal(c.targetName, 'Server');
    deepEqual(c.serverChallenge, NLMP.serverChallenge);
    deepEqual(c.targetInfo, NLMP.avPairs);
    deepEqual(c.version, hex('060070170000000f'));
    deepEqual(decodeAvPairs(c.targetInfo, 'TargetInfo'), [
      { id: AV.NB_DOMAIN_NAME, value: Buffer.from('Domain', 'utf16le') },
      { id: AV.NB_COMPUTER_NAME, value: Buffer.from('Server', 'utf16le') },
    ]);
    deepEqual(encodeChallenge(c), NLMP.challenge);
  });

  test('§4.2.4.3 AUTHENTICATE_MESSAGE decodes and verifies against the password', () => {
    const a = decodeAuthenticate(NLMP.authenticate, true);
    equal(a.flags, 0xe2888235);
    equal(a.user, 'User');
    equal(a.domain, 'Domain');
    equal(a.workstation, 'COMPUTER');
    equal(a.micField, undefined, 'payload starts at 0x48: no room for a MIC');
    deepEqual(a.version, hex('0501280a0000000f'));
    equal(a.lmChallengeResponse.toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
    const r = parseNtlmv2Response(a.ntChallengeResponse);
    equal(r.ntProofStr.toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
    equal(r.time, 0n);
    deepEqual(r.clientChallenge, NLMP.clientChallenge);
    const base = verifyNtlmv2(ntowfv1('Password'), a.user, a.domain, NLMP.serverChallenge, r);
    equal(base?.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3');
    equal(verifyNtlmv2(ntowfv1('password'), a.user, a.domain, NLMP.serverChallenge, r), null);
    equal(verifyNtlmv2(ntowfv1('Password'), a.user, a.domain, hex('0123456789abcdee'), r), null);
    deepEqual(exportedSessionKey(base!, a.encryptedRandomSessionKey), NLMP.randomSessionKey);
    // Re-encoded (payload laid out differently), it decodes to the same fields.
    const again = decodeAuthenticate(encodeAuthenticate(a, true), true);
    deepEqual(
      { ...again, raw: undefined, micField: undefined },
      { ...a, raw: undefined, micField: undefined },
    );
  });

  test('§4.2.4.4 GSS_WrapEx: client sealing and signing keys, sealed data, signature', () => {
    const flags = 0xe28a8233;
    const seal = sealKey(NLMP.randomSessionKey, flags, 'client-to-server');
    const sk = signKey(NLMP.randomSessionKey, 'client-to-server');
    equal(seal.toString('hex'), '59f600973cc4960a25480a7c196e4c58');
    equal(sk.toString('hex'), '4788dc861b4782f35d43fd98fe1a2d39');
    const plaintext = Buffer.from('Plaintext', 'utf16le');
    const stream = new Rc4Stream(seal);
    equal(stream.process(plaintext).toString('hex'), '54e50165bf1936dc996020c1811b0f06fb5f');
    equal(ntlmMac(sk, stream, 0, plaintext).toString('hex'), '010000007fb38ec5c55d497600000000');
    equal(ntlmMac(sk, undefined, 0, plaintext).toString('hex'), '0100000070352851f256430900000000');
  });

  test('NTOWFv2 upper-cases the user name (one unit to one, as Windows) but not the domain', () => {
    const h = ntowfv1('pw');
    deepEqual(ntowfv2(h, 'user', 'Domain'), ntowfv2(h, 'USER', 'Domain'));
    ok(!ntowfv2(h, 'User', 'domain').equals(ntowfv2(h, 'User', 'Domain')));
    equal(upcaseUnicode('straße-ǆ-é'), 'STRAßE-Ǆ-É');
  });
});

describe('a Windows NTLMv2 logon inside SPNEGO (anatomy-of-keys blog)', () => {
  const f = WINDOWS_311.first;
  const init = decodeSpnego(securityBuffer(f.sessionSetupRequest1));
  const challengeResp = decodeSpnego(securityBuffer(f.sessionSetupResponse1));
  const authResp = decodeSpnego(securityBuffer(f.sessionSetupRequest2));
  const finalResp = decodeSpnego(securityBuffer(f.sessionSetupResponse2));
  if (
    init.kind !== 'init' ||
    challengeResp.kind !== 'resp' ||
    authResp.kind !== 'resp' ||
    finalResp.kind !== 'resp'
  )
    throw new Error('fixture tokens are not the expected SPNEGO kinds');
  const negotiateMsg = init.init.mechToken!;
  const challengeMsg = challengeResp.resp.responseToken!;
  const authenticateMsg = authResp.resp.responseToken!;

  test('the SPNEGO tokens decode as a Windows client and server sent them', () => {
    deepEqual(init.init.mechTypes, [OID.NTLMSSP]);
    equal(init.init.mechTypesDer.toString('hex'), '300c060a2b06010401823702020a');
    equal(challengeResp.resp.negState, 'accept-incomplete');
    equal(challengeResp.resp.supportedMech, OID.NTLMSSP);
    equal(authResp.resp.negState, 'accept-incomplete');
    deepEqual(authResp.resp.mechListMIC, f.clientMechListMic);
    deepEqual(finalResp.resp, { negState: 'accept-completed', mechListMIC: f.serverMechListMic });
    // Our encoders produce the same bytes for the same content.
    deepEqual(
      encodeNegTokenInit({ mechTypes: [OID.NTLMSSP], mechToken: negotiateMsg }),
      securityBuffer(f.sessionSetupRequest1),
    );
    deepEqual(encodeNegTokenResp(challengeResp.resp), securityBuffer(f.sessionSetupResponse1));
    deepEqual(encodeNegTokenResp(authResp.resp), securityBuffer(f.sessionSetupRequest2));
    deepEqual(encodeNegTokenResp(finalResp.resp), securityBuffer(f.sessionSetupResponse2));
  });

  test('NEGOTIATE and CHALLENGE decode; NEGOTIATE round-trips', () => {
    const n = decodeNegotiate(negotiateMsg);
    equal(n.flags, 0xe2088297);
    deepEqual(n.version, hex('060380250000000f'));
    const again = decodeNegotiate(encodeNegotiate({ flags: n.flags, version: n.version! }));
    deepEqual([again.flags, again.version, again.domain, again.workstation], [n.flags, n.version, '', '']);
    const c = decodeChallenge(challengeMsg);
    equal(c.flags, 0xe28a8215);
    equal(c.targetName, 'SUT311');
    deepEqual(c.serverChallenge, f.serverChallenge);
    deepEqual(
      decodeAvPairs(c.targetInfo, 'TargetInfo').map((p) => p.id),
      [AV.NB_DOMAIN_NAME, AV.NB_COMPUTER_NAME, AV.DNS_DOMAIN_NAME, AV.DNS_COMPUTER_NAME, AV.TIMESTAMP],
    );
  });

  test('AUTHENTICATE: NTOWFv2, NTProofStr, KeyExchangeKey, key exchange, MIC — from the password', () => {
    const a = decodeAuthenticate(authenticateMsg, true);
    equal(a.user, WINDOWS_311.user);
    equal(a.domain, WINDOWS_311.domain);
    equal(a.workstation, WINDOWS_311.workstation);
    deepEqual(a.micField, f.mic);
    deepEqual(a.encryptedRandomSessionKey, f.encryptedRandomSessionKey);
    deepEqual(ntowfv1(WINDOWS_311.password), f.ntHash);
    deepEqual(ntowfv2(f.ntHash, a.user, a.domain), f.ntowfv2);
    const r = parseNtlmv2Response(a.ntChallengeResponse);
    deepEqual(r.ntProofStr, f.ntProofStr);
    const flags = decodeAvPairs(r.temp.subarray(28), 'AvPairs').find((p) => p.id === AV.FLAGS);
    deepEqual(flags?.value, hex('02000000'), 'MsvAvFlags: MIC present');
    const base = verifyNtlmv2(f.ntHash, a.user, a.domain, f.serverChallenge, r);
    deepEqual(base, f.keyExchangeKey);
    const exported = exportedSessionKey(base!, a.encryptedRandomSessionKey);
    deepEqual(exported, f.sessionKey);
    deepEqual(computeMic(exported, negotiateMsg, challengeMsg, authenticateMsg), f.mic);
  });

  test('NTLMSSP session security: the four keys, and both mechListMICs', () => {
    const flags = decodeAuthenticate(authenticateMsg, true).flags & decodeChallenge(challengeMsg).flags;
    deepEqual(signKey(f.sessionKey, 'server-to-client'), f.serverSigningKeyNtlm);
    deepEqual(signKey(f.sessionKey, 'client-to-server'), f.clientSigningKeyNtlm);
    deepEqual(sealKey(f.sessionKey, flags, 'server-to-client'), f.serverSealingKeyNtlm);
    deepEqual(sealKey(f.sessionKey, flags, 'client-to-server'), f.clientSealingKeyNtlm);
    const server = new NtlmSessionSecurity(f.sessionKey, flags, 'server');
    ok(server.verify(init.init.mechTypesDer, f.clientMechListMic));
    deepEqual(server.sign(init.init.mechTypesDer), f.serverMechListMic);
    const client = new NtlmSessionSecurity(f.sessionKey, flags, 'client');
    deepEqual(client.sign(init.init.mechTypesDer), f.clientMechListMic);
    ok(client.verify(init.init.mechTypesDer, f.serverMechListMic));
    ok(
      !new NtlmSessionSecurity(f.sessionKey, flags, 'server').verify(
        init.init.mechTypesDer,
        f.serverMechListMic,
      ),
    );
  });

  test('the second channel logs on with the same password: its own key exchange', () => {
    const s = WINDOWS_311.second;
    const t = decodeSpnego(securityBuffer(s.sessionSetupRequest2));
    if (t.kind !== 'resp') throw new Error('expected NegTokenResp');
    const a = decodeAuthenticate(t.resp.responseToken!, true);
    const r = parseNtlmv2Response(a.ntChallengeResponse);
    const base = verifyNtlmv2(ntowfv1(WINDOWS_311.password), a.user, a.domain, s.serverChallenge, r);
    ok(base);
    deepEqual(exportedSessionKey(base, a.encryptedRandomSessionKey), s.sessionKey);
  });
});

describe('SPNEGO and DER codecs', () => {
  test('negotiateToken(): GSS-wrapped NegTokenInit offering NTLMSSP only', () => {
    const token = NtlmAcceptor.negotiateToken();
    equal(token.toString('hex'), '601c06062b0601050502a0123010a00e300c060a2b06010401823702020a');
    const t = decodeSpnego(token);
    deepEqual(t.kind === 'init' && t.init.mechTypes, [OID.NTLMSSP]);
  });

  test('OIDs round-trip, including multi-byte arcs', () => {
    for (const oid of Object.values(OID)) {
      const der = encodeOid(oid);
      const r = new DerReader(der);
      equal(decodeOid(r.expect(0x06, 'oid'), 'oid'), oid);
    }
    equal(encodeOid(OID.NTLMSSP).toString('hex'), '060a2b06010401823702020a');
    equal(encodeMechTypeList([OID.MS_KRB5, OID.KRB5, OID.NTLMSSP]).length, 2 + 11 + 11 + 12);
  });

  test('long-form lengths round-trip', () => {
    const token = Buffer.alloc(70000, 0x41);
    const t = decodeSpnego(encodeNegTokenResp({ negState: 'accept-incomplete', responseToken: token }));
    deepEqual(t.kind === 'resp' && t.resp.responseToken, token);
  });

  const bad: Array<[number, string, string, RegExp]> = [
    [1, 'empty', '', /needs a tag and a length/],
    [2, 'indefinite length', 'a180', /indefinite length/],
    [3, 'length past the end', 'a105300300', /runs past the end/],
    [4, 'five length octets', 'a185000000000100', /too long/],
    [5, 'trailing bytes after the token', 'a1023000ff', /trailing bytes/],
    [6, 'high tag number', '1f0100', /high tag/],
    [7, 'not a NegotiationToken', '3000', /neither negTokenInit nor negTokenResp/],
    [8, 'GSS wrapper around another mechanism', '600806062a864886f712', /is not SPNEGO/],
    [9, 'NegTokenResp members out of order', 'a10a3008a2020400a0020a01', /out of order/],
    [10, 'unknown NegTokenResp member', 'a1063004a4020400', /unexpected tag/],
    [11, 'negState of two bytes', 'a1083006a0040a020000', /ENUMERATED of 2 bytes/],
    [12, 'negState 9', 'a1073005a0030a0109', /unknown value 9/],
    [13, 'NegTokenInit without mechTypes', 'a0063004a2020400', /mechTypes: missing/],
    [14, 'empty mechTypes', 'a0063004a0023000', /mechTypes: empty/],
    [15, 'OID ending inside an arc', 'a0093007a005300306018a', /ends inside an arc/],
    [16, 'responseToken that is not an OCTET STRING', 'a1063004a2020500', /expected tag 0x04/],
  ];
  for (const [n, name, bytes, message] of bad) {
    test(`bad ${n}: ${name}`, () => {
      throws(
        () => decodeSpnego(hex(bytes)),
        (e: unknown) => e instanceof DerError && message.test(e.message),
      );
    });
  }
});

describe('NTLMSSP codecs: bounds', () => {
  const auth = encodeAuthenticate(
    {
      flags: 0xe2888215,
      lmChallengeResponse: Buffer.alloc(24),
      ntChallengeResponse: Buffer.alloc(60, 1),
      domain: 'D',
      user: 'u',
      workstation: 'W',
      encryptedRandomSessionKey: Buffer.alloc(16, 2),
    },
    true,
  );
  const bad: Array<[number, string, () => unknown, RegExp]> = [
    [1, 'no signature', () => decodeNegotiate(Buffer.alloc(40)), /no NTLMSSP signature/],
    [2, 'short NEGOTIATE', () => decodeNegotiate(auth.subarray(0, 15)), /at least 16 bytes/],
    [3, 'wrong MessageType', () => decodeNegotiate(auth), /MessageType 3, expected 1/],
    [
      4,
      'field past the end',
      () => decodeAuthenticate(auth.subarray(0, auth.length - 1), true),
      /run past the message/,
    ],
    [
      5,
      'odd-length UTF-16 user name',
      () => {
        const m = Buffer.from(auth);
        m.writeUInt16LE(3, 36);
        return decodeAuthenticate(m, true);
      },
      /odd length 3/,
    ],
    [6, 'AV pairs without EOL', () => decodeAvPairs(hex('01000200aaaa'), 'ti'), /without MsvAvEOL/],
    [7, 'AV pair past the end', () => decodeAvPairs(hex('01000900aaaa'), 'ti'), /runs past the end/],
    [8, 'EOL with a value', () => decodeAvPairs(hex('00000100aa'), 'ti'), /MsvAvEOL with a value/],
    [9, 'NTLMv2 response too short', () => parseNtlmv2Response(Buffer.alloc(47)), /too short/],
    [
      10,
      'NTLMv2 blob version 2',
      () => parseNtlmv2Response(Buffer.concat([Buffer.alloc(16), hex('0201'), Buffer.alloc(30)])),
      /RespType 2.1/,
    ],
  ];
  for (const [n, name, run, message] of bad) {
    test(`bad ${n}: ${name}`, () => {
      throws(run, (e: unknown) => e instanceof NtlmError && message.test(e.message));
    });
  }

  test('AV pairs round-trip; bytes after MsvAvEOL are ignored', () => {
    const pairs = [
      { id: AV.NB_COMPUTER_NAME, value: Buffer.from('GW', 'utf16le') },
      { id: AV.TIMESTAMP, value: Buffer.alloc(8, 9) },
    ];
    const b = encodeAvPairs(pairs);
    deepEqual(decodeAvPairs(Buffer.concat([b, Buffer.alloc(8)]), 'ti'), pairs);
  });
});
