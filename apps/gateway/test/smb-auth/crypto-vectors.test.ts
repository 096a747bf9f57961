/**
 * SMB2/3 cryptography against published vectors.
 *
 * Sources:
 * - RC4: RFC 6229 §2, the 40-bit key 0x0102030405 and the 128-bit key 0x0102…10, keystream at
 *   offsets 0 and 16.
 * - AES-CMAC: RFC 4493 §4, subkeys and Examples 1–4.
 * - SMB 3.x KDF, keys, pre-authentication hash and signing: Microsoft Open Specifications blog,
 *   "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing and cryptographic keys"
 *   (2017), Appendix: key derivation examples for 3.0 and 3.1.1 (both channels), with the
 *   signed final SESSION_SETUP responses (fixtures.ts).
 * - Encryption: Microsoft Open Specifications blog, "Encryption in SMB 3.0: A protocol
 *   perspective" (2012-10-05; AES-128-CCM, session key B4546771…) and "SMB 3.1.1 Encryption in
 *   Windows 10" (2015-09-09; AES-128-GCM, session key 419FDDF3…), as transcribed in
 *   emc-isilon/pike's test vectors.
 */
import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { aeadPool } from '../../src/protocols/smb/crypto/aead-pool.ts';
import {
  aesCmac,
  cmacSubkeys,
  decrypt,
  decryptAsArriving,
  decryptInPlace,
  deriveKeys,
  encrypt,
  encryptInto,
  encryptParts,
  PreauthHash,
  Rc4Stream,
  rc4,
  SMB2_FLAGS_SIGNED,
  sign,
  smb3Kdf,
  verifySignature,
} from '../../src/protocols/smb/crypto/index.ts';
import { hex, WINDOWS_311 } from './fixtures.ts';

/** The four ciphers (MS-SMB2 2.2.3.1.2). */
const CIPHERS = ['AES-128-CCM', 'AES-128-GCM', 'AES-256-CCM', 'AES-256-GCM'] as const;

/** A key of the cipher's size from 16 bytes of hex: the 256-bit ciphers take it twice over. */
function keyOf(cipher: (typeof CIPHERS)[number], hex16: string): Buffer {
  const k = Buffer.from(hex16, 'hex');
  return cipher.startsWith('AES-256') ? Buffer.concat([k, k.map((b) => b ^ 0xff)]) : k;
}

describe('RC4 (RFC 6229)', () => {
  const rows: Array<[number, string, number, string]> = [
    [1, '0102030405', 0, 'b2396305f03dc027ccc3524a0a1118a8'],
    [2, '0102030405', 16, '6982944f18fc82d589c403a47a0d0919'],
    [3, '0102030405060708090a0b0c0d0e0f10', 0, '9ac7cc9a609d1ef7b2932899cde41b97'],
    [4, '0102030405060708090a0b0c0d0e0f10', 16, '5248c4959014126a6e8a84f11d1a9e1c'],
  ];
  for (const [n, key, offset, stream] of rows) {
    test(`row ${n}: key ${key} at offset ${offset}`, () => {
      const out = rc4(hex(key), Buffer.alloc(offset + 16));
      equal(out.subarray(offset).toString('hex'), stream);
    });
  }

  test('row 5: a stream continues where it stopped, and decrypts what it encrypted', () => {
    const s = new Rc4Stream(hex('0102030405'));
    s.process(Buffer.alloc(5));
    equal(s.process(Buffer.alloc(27)).subarray(11).toString('hex'), '6982944f18fc82d589c403a47a0d0919');
    const text = Buffer.from('attack at dawn');
    deepEqual(rc4(hex('abcdef'), rc4(hex('abcdef'), text)), text);
  });

  test('row 6: keys of 0 or more than 256 bytes are refused', () => {
    throws(() => rc4(Buffer.alloc(0), Buffer.alloc(1)), RangeError);
    throws(() => rc4(Buffer.alloc(257), Buffer.alloc(1)), RangeError);
  });
});

describe('AES-128-CMAC (RFC 4493 §4)', () => {
  const K = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const M = hex(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`);

  test('subkeys K1, K2', () => {
    const { k1, k2 } = cmacSubkeys(K);
    equal(k1.toString('hex'), 'fbeed618357133667c85e08f7236a8de');
    equal(k2.toString('hex'), 'f7ddac306ae266ccf90bc11ee46d513b');
  });

  const examples: Array<[number, number, string]> = [
    [1, 0, 'bb1d6929e95937287fa37d129b756746'],
    [2, 16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [3, 40, 'dfa66747de9ae63030ca32611497c827'],
    [4, 64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ];
  for (const [n, length, mac] of examples) {
    test(`example ${n}: ${length}-byte message, whole and in uneven pieces`, () => {
      const m = M.subarray(0, length);
      equal(aesCmac(K, m).toString('hex'), mac);
      const pieces = [m.subarray(0, 3), m.subarray(3, 3), m.subarray(3, 21), m.subarray(21)];
      equal(aesCmac(K, pieces).toString('hex'), mac);
    });
  }
});

describe('SMB 3.x key derivation (MS-SMB2 3.1.4.2; anatomy-of-keys blog, appendix)', () => {
  // The blog lists keys from the client's side: its EncryptionKey is what the server decrypts
  // with, its DecryptionKey what the server encrypts with.
  test('row 1: 3.0, first channel — all four keys', () => {
    const k = deriveKeys(0x0300, hex('7CD451825D0450D235424E44BA6E78CC'));
    equal(k.signingKey.toString('hex'), '0b7e9c5cac36c0f6ea9ab275298cedce');
    equal(k.decryptionKey?.toString('hex'), 'fad27796665b313ebb578f388632b4f7');
    equal(k.encryptionKey?.toString('hex'), 'b0f0427f7ceb416d1d9dcc0cd4f99447');
    equal(k.applicationKey.toString('hex'), 'bb23a4575aa26c721af525af15a87b4f');
  });

  test('row 2: 3.0, second channel (session binding) signing key; 3.0.2 derives alike', () => {
    equal(
      deriveKeys(0x0300, hex('4E01A2B313BCF660CC250BEF021AEDE6')).signingKey.toString('hex'),
      'ba1a17dbbfec349bca105563d598952f',
    );
    deepEqual(
      deriveKeys(0x0302, hex('4E01A2B313BCF660CC250BEF021AEDE6')),
      deriveKeys(0x0300, hex('4E01A2B313BCF660CC250BEF021AEDE6')),
    );
  });

  test('row 3: 3.1.1, first channel, with its pre-authentication hash', () => {
    const f = WINDOWS_311.first;
    const k = deriveKeys(0x0311, f.sessionKey, f.preauthAfter[4], 'AES-128-GCM');
    deepEqual(k.signingKey, f.signingKey);
    deepEqual(k.decryptionKey, f.encryptionKeyClient);
    deepEqual(k.encryptionKey, f.decryptionKeyClient);
    deepEqual(k.applicationKey, f.applicationKey);
    deepEqual(deriveKeys(0x0311, f.sessionKey, f.preauthAfter[4], 'AES-128-CCM'), k);
  });

  test('row 4: 3.1.1, second channel signing key', () => {
    const s = WINDOWS_311.second;
    deepEqual(deriveKeys(0x0311, s.sessionKey, s.preauthHash).signingKey, s.signingKey);
  });

  test('row 5: 2.0.2 and 2.1 sign with the session key itself (first 16 bytes, zero-padded)', () => {
    const key = hex('00112233445566778899aabbccddeeff0011');
    const k = deriveKeys(0x0210, key);
    deepEqual(k.signingKey, key.subarray(0, 16));
    equal(k.encryptionKey, undefined);
    deepEqual(deriveKeys(0x0202, hex('0102')).signingKey, hex('01020000000000000000000000000000'));
  });

  test('row 6: 3.1.1 without a 64-byte hash, 3.0 with GCM, an empty key: refused', () => {
    throws(() => deriveKeys(0x0311, Buffer.alloc(16)), /pre-authentication/);
    throws(() => deriveKeys(0x0311, Buffer.alloc(16), Buffer.alloc(32)), /pre-authentication/);
    throws(() => deriveKeys(0x0300, Buffer.alloc(16), undefined, 'AES-128-GCM'), /AES-128-CCM only/);
    throws(() => deriveKeys(0x0300, Buffer.alloc(0)), /empty/);
  });

  test('row 8: 3.1.1 with AES-256: encryption keys of 256 bits (L = 256) from the whole session key, signing as for AES-128', () => {
    const hash = Buffer.alloc(64, 0x5c);
    const full = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
    const k128 = deriveKeys(0x0311, full, hash, 'AES-128-GCM');
    for (const cipher of ['AES-256-GCM', 'AES-256-CCM'] as const) {
      const k = deriveKeys(0x0311, full, hash, cipher);
      const kdf256 = (label: string) =>
        createHmac('sha256', full)
          .update(Buffer.concat([hex('00000001'), Buffer.from(label), hex('00'), hash, hex('00000100')]))
          .digest();
      deepEqual(k.encryptionKey, kdf256('SMBS2CCipherKey\0'));
      deepEqual(k.decryptionKey, kdf256('SMBC2SCipherKey\0'));
      equal(k.encryptionKey?.length, 32);
      deepEqual(k.signingKey, k128.signingKey, 'signing keeps the 16-byte session key');
      deepEqual(k.applicationKey, k128.applicationKey);
    }
    equal(k128.encryptionKey?.length, 16);
  });

  test('row 7: the KDF is SP800-108 counter mode: i ‖ label ‖ 0x00 ‖ context ‖ L', () => {
    const key = hex('7CD451825D0450D235424E44BA6E78CC');
    const label = Buffer.from('SMB2AESCMAC\0');
    const context = Buffer.from('SmbSign\0');
    const input = Buffer.concat([hex('00000001'), label, hex('00'), context, hex('00000080')]);
    deepEqual(smb3Kdf(key, label, context), createHmac('sha256', key).update(input).digest().subarray(0, 16));
  });
});

describe('pre-authentication integrity (MS-SMB2 3.3.5.4; anatomy-of-keys blog, 3.1.1 example)', () => {
  test('the SHA-512 chain over NEGOTIATE and SESSION_SETUP matches after every message', () => {
    const f = WINDOWS_311.first;
    const messages = [
      f.negotiateRequest,
      f.negotiateResponse,
      f.sessionSetupRequest1,
      f.sessionSetupResponse1,
      f.sessionSetupRequest2,
    ];
    const h = new PreauthHash();
    deepEqual(h.value(), Buffer.alloc(64));
    let connection: PreauthHash | undefined;
    messages.forEach((m, i) => {
      h.update(m);
      deepEqual(h.value(), f.preauthAfter[i], `after message ${i + 1}`);
      if (i === 1) connection = h.clone();
    });
    // The clone taken after NEGOTIATE did not move with the session's chain.
    deepEqual(connection?.value(), f.preauthAfter[1]);
  });
});

describe('signing (MS-SMB2 3.1.4.1)', () => {
  test('row 1: 3.1.1 — the final SESSION_SETUP responses of both channels, as Windows signed them', () => {
    const f = WINDOWS_311.first;
    const s = WINDOWS_311.second;
    ok(verifySignature(0x0311, f.signingKey, f.sessionSetupResponse2));
    deepEqual(sign(0x0311, f.signingKey, f.sessionSetupResponse2), f.sessionSetupResponse2.subarray(48, 64));
    ok(verifySignature(0x0311, s.signingKey, s.sessionSetupResponse2));
    // Binding requests and the interim response are signed with the session's (first) key.
    ok(verifySignature(0x0311, f.signingKey, s.sessionSetupRequest1));
    ok(verifySignature(0x0311, f.signingKey, s.sessionSetupRequest2));
    ok(verifySignature(0x0311, f.signingKey, s.sessionSetupResponse1));
  });

  test('row 2: any changed bit, a wrong key, or a short message fails verification', () => {
    const f = WINDOWS_311.first;
    for (const at of [0, 20, 47, 48, 63, 64, f.sessionSetupResponse2.length - 1]) {
      const m = Buffer.from(f.sessionSetupResponse2);
      m[at] = m[at]! ^ 0x01;
      equal(verifySignature(0x0311, f.signingKey, m), false, `bit flipped at ${at}`);
    }
    equal(verifySignature(0x0311, WINDOWS_311.second.signingKey, f.sessionSetupResponse2), false);
    equal(verifySignature(0x0311, f.signingKey, f.sessionSetupResponse2.subarray(0, 63)), false);
    throws(() => sign(0x0311, f.signingKey, Buffer.alloc(10)), RangeError);
  });

  test('row 3: 2.1 — HMAC-SHA256 over the message with a zero Signature, first 16 bytes', () => {
    // A 2.1 TREE_CONNECT request (MS-SMB2 2.2.9) for \\SERVER\share, SMB2_FLAGS_SIGNED set.
    const path = Buffer.from('\\\\SERVER\\share', 'utf16le');
    const m = Buffer.alloc(64 + 8 + path.length);
    hex('FE534D42400001000000000003000100').copy(m, 0);
    m.writeUInt32LE(SMB2_FLAGS_SIGNED, 16);
    m.writeBigUInt64LE(5n, 24);
    m.writeBigUInt64LE(0x1000000000011n, 40);
    m.writeUInt16LE(9, 64);
    m.writeUInt16LE(72, 68);
    m.writeUInt16LE(path.length, 70);
    path.copy(m, 72);
    const key = hex('0123456789abcdeffedcba9876543210');
    const expected = createHmac('sha256', key).update(m).digest().subarray(0, 16);
    const sig = sign(0x0210, key, m);
    deepEqual(sig, expected);
    sig.copy(m, 48);
    ok(verifySignature(0x0210, key, m));
    ok(verifySignature(0x0202, key, m));
    equal(verifySignature(0x0300, key, m), false, 'the same bytes under CMAC');
    // Whatever the Signature field held, sign() computes as if it were zero.
    deepEqual(sign(0x0210, key, m), expected);
  });
});

describe('encryption (MS-SMB2 3.1.4.3; Microsoft encryption blogs)', () => {
  const sessionId300 = 0x8e40014000011n;

  test('row 1: 3.0 AES-128-CCM — the client-encrypted WRITE, reproduced byte for byte', () => {
    const keys = deriveKeys(0x0300, hex('B4546771B515F766A86735532DD6C4F0'));
    // The client encrypts with ServerIn: on the server, the decryption key.
    equal(keys.decryptionKey?.toString('hex'), '261b72350558f2e9dcf613070383edbf');
    const plaintext = hex(`
      FE534D4240000100000000000900400008000000000000000400000000000000
      FFFE0000010000001100001400E4080000000000000000000000000000000000
      3100700017000000000000000000000015010000390000020100000039020000
      00000000000000007000000000000000536D623320656E6372797074696F6E20
      74657374696E67`);
    const frame = encrypt('AES-128-CCM', keys.decryptionKey!, sessionId300, plaintext, {
      nonce: hex('66E69A111892584FB5ED524A744DA3EE'),
    });
    equal(
      frame.toString('hex').toUpperCase(),
      `FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A
       744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5
       2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4
       4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5
       AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6
       C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB`.replace(/\s+/g, ''),
    );
    const opened = decrypt(
      'AES-128-CCM',
      (id) => (id === sessionId300 ? keys.decryptionKey : undefined),
      frame,
    );
    deepEqual(opened, { sessionId: sessionId300, plaintext });
  });

  test('row 2: 3.0 AES-128-CCM — the server-encrypted WRITE response decrypts', () => {
    const keys = deriveKeys(0x0300, hex('B4546771B515F766A86735532DD6C4F0'));
    equal(keys.encryptionKey?.toString('hex'), '8fe2b57ec34d2db5b1a9727f526bbdb5');
    const frame = hex(`
      FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014
      00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079
      E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787
      1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1
      77309E5B`);
    const opened = decrypt('AES-128-CCM', () => keys.encryptionKey, frame);
    deepEqual(opened, {
      sessionId: sessionId300,
      plaintext: hex(`
        FE534D4240000100000000000900210009000000000000000400000000000000
        FFFE0000010000001100001400E4080000000000000000000000000000000000
        11000000170000000000000000000000`),
    });
  });

  const preauth311 = hex(`B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB256BA2EA30E9
                          77F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770`);
  const sessionId311 = 0x100000000025n;

  test('row 3: 3.1.1 AES-128-GCM — the client-encrypted WRITE, reproduced byte for byte', () => {
    const keys = deriveKeys(0x0311, hex('419FDDF34C1E001909D362AE7FB6AF79'), preauth311, 'AES-128-GCM');
    equal(keys.decryptionKey?.toString('hex'), 'a2f5e80e5d59103034f32e52f698e5ec');
    const plaintext = hex(`
      FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000
      25000000001000000000000000000000000000000000000031007000170000000000000000000000
      0600000004000000010000000400000000000000000000007000000000000000536D623320656E63
      72797074696F6E2074657374696E67`);
    const frame = encrypt('AES-128-GCM', keys.decryptionKey!, sessionId311, plaintext, {
      nonce: hex('C7D6822D269CAF48904C664C'),
    });
    equal(
      frame.toString('hex').toUpperCase(),
      `FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000
       0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02
       D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4
       4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9
       1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8`.replace(/\s+/g, ''),
    );
  });

  test('row 4: 3.1.1 AES-128-GCM — the server-encrypted WRITE response decrypts', () => {
    const keys = deriveKeys(0x0311, hex('419FDDF34C1E001909D362AE7FB6AF79'), preauth311, 'AES-128-GCM');
    equal(keys.encryptionKey?.toString('hex'), '748c50868c90f302962a5c35f5f9a8bf');
    const frame = hex(`
      FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000
      00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8
      F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B
      82E03C9E18A050FF0EA1C967`);
    const opened = decrypt('AES-128-GCM', () => keys.encryptionKey, frame);
    deepEqual(opened, {
      sessionId: sessionId311,
      plaintext: hex(`
        FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000
        25000000001000000000000000000000000000000000000011000000170000000000000000000000`),
    });
  });

  for (const cipher of CIPHERS) {
    test(`row 4b (${cipher}): a message given in pieces encrypts to the same frame as joined`, () => {
      const key = keyOf(cipher, 'a2f5e80e5d59103034f32e52f698e5ec');
      const nonce = hex('C7D6822D269CAF48904C664C').subarray(0, cipher.endsWith('CCM') ? 11 : 12);
      // A READ reply as the server sends it: header and body, then the payload by reference
      // (over 256 KiB, so GCM encrypts it in pieces).
      const pieces = [hex('FE534D4240000100'), Buffer.alloc(56, 3), Buffer.alloc(600_001, 0x5a), hex('01')];
      const joined = encrypt(cipher, key, sessionId311, Buffer.concat(pieces), { nonce });
      const parts = encryptParts(cipher, key, sessionId311, pieces, { nonce });
      equal(parts[0]!.length, 52, 'the transform header comes first, on its own');
      deepEqual(Buffer.concat(parts), joined);
      deepEqual(
        decrypt(cipher, () => key, joined),
        { sessionId: sessionId311, plaintext: Buffer.concat(pieces) },
      );
      // In place (what the server does with a received frame): the same plaintext, as a view
      // of the frame; a frame changed by one byte still fails to authenticate.
      const frame = Buffer.from(joined);
      const inPlace = decrypt(cipher, () => key, frame, { inPlace: true });
      deepEqual(inPlace, { sessionId: sessionId311, plaintext: Buffer.concat(pieces) });
      if (cipher === 'AES-128-GCM' && 'plaintext' in inPlace) equal(inPlace.plaintext.buffer, frame.buffer);
      const tampered = Buffer.from(joined);
      tampered[tampered.length - 1]! ^= 1;
      deepEqual(
        decrypt(cipher, () => key, tampered, { inPlace: true }),
        { error: 'STATUS_ACCESS_DENIED' },
      );
    });
  }

  /** `n` bytes of shared memory starting `skew` bytes into their SharedArrayBuffer. */
  const sharedBytes = (n: number, skew: number) =>
    Buffer.from(new SharedArrayBuffer(n + skew)).subarray(skew);

  for (const cipher of CIPHERS) {
    test(`row 4c (${cipher}): on a worker, in shared memory — frames the event loop's code opens, and back`, async () => {
      const key = keyOf(cipher, 'a2f5e80e5d59103034f32e52f698e5ec');
      // A READ reply as the server sends a large one: header and body in ordinary memory, the
      // payload in shared memory (a namespace read buffer) at an odd offset, read in place.
      const payload = sharedBytes(700_001, 3);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 1) & 0xff;
      const pieces = [hex('FE534D4240000100'), Buffer.alloc(56, 3), payload];
      const plaintext = Buffer.concat(pieces);
      const out = sharedBytes(plaintext.length, 5);
      const header = await encryptInto(cipher, key, sessionId311, pieces, out);
      equal(header.length, 52);
      const sealed = Buffer.concat([header, out]);
      const opened = decrypt(cipher, () => key, sealed);
      ok('plaintext' in opened && opened.plaintext.equals(plaintext) && opened.sessionId === sessionId311);

      // A frame sealed on the event loop, received into shared memory at an odd offset,
      // opens on a worker in place: the plaintext is a view of the frame.
      const joined = encrypt(cipher, key, sessionId311, plaintext);
      const frame = sharedBytes(joined.length, 1);
      joined.copy(frame);
      const inPlace = await decryptInPlace(cipher, () => key, frame);
      ok('plaintext' in inPlace, 'error' in inPlace ? inPlace.error : '');
      ok(inPlace.plaintext.equals(plaintext));
      equal(inPlace.plaintext.buffer, frame.buffer);
      equal(inPlace.sessionId, sessionId311);

      // A changed byte of the tag, the AAD, the ciphertext's start or its end: not authentic.
      for (const at of [4, 44, 52, joined.length - 1]) {
        const t = sharedBytes(joined.length, 0);
        joined.copy(t);
        t[at]! ^= 1;
        deepEqual(
          await decryptInPlace(cipher, () => key, t),
          { error: 'STATUS_ACCESS_DENIED' },
          `byte ${at}`,
        );
      }
      // The header checks answer at once, without a worker.
      deepEqual(
        decryptInPlace(cipher, () => undefined, frame),
        { error: 'STATUS_ACCESS_DENIED' },
      );
      const short = sharedBytes(40, 0);
      deepEqual(
        decryptInPlace(cipher, () => key, short),
        { error: 'STATUS_INVALID_PARAMETER' },
      );
    });
  }

  test('row 4d (AES-128-GCM): decrypted on a worker while the frame arrives — the same plaintext; tampered, CCM and dropped frames', async () => {
    const key = hex('a2f5e80e5d59103034f32e52f698e5ec');
    const plaintext = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < plaintext.length; i++) plaintext[i] = (i * 13 + 5) & 0xff;
    plaintext.writeUInt32LE(0x424d53fe, 0);
    const joined = encrypt('AES-128-GCM', key, sessionId311, plaintext);
    // The frame arrives into shared memory in uneven pieces; the worker is told as they come.
    const arriveUnended = async (wire: Buffer) => {
      const frame = sharedBytes(wire.length, 3);
      let at = 70_000;
      wire.copy(frame, 0, 0, at);
      const d = decryptAsArriving('AES-128-GCM', () => key, frame);
      ok(d, 'a GCM frame whose header checks out decrypts as it arrives');
      d.more(at);
      while (at < wire.length) {
        const n = Math.min(wire.length - at, 100_003);
        wire.copy(frame, at, at, at + n);
        at += n;
        if (at < wire.length) d.more(at);
      }
      return { frame, d };
    };
    const arrive = async (wire: Buffer) => {
      const { frame, d } = await arriveUnended(wire);
      return { frame, result: await d.end() };
    };
    // Before the last byte is in, the worker has decrypted what it was told of, in place.
    const early = await arriveUnended(joined);
    const firstMiB = plaintext.subarray(0, 1 << 20);
    for (let i = 0; !early.frame.subarray(52, 52 + firstMiB.length).equals(firstMiB); i++) {
      ok(i < 500, 'the first MiB is decrypted before the frame is whole');
      await new Promise((r) => setTimeout(r, 10));
    }
    ok('plaintext' in (await early.d.end()));
    const { frame, result } = await arrive(joined);
    ok('plaintext' in result, 'error' in result ? result.error : '');
    ok(result.plaintext.equals(plaintext));
    equal(result.plaintext.buffer, frame.buffer, 'in place');
    for (const at of [4, 60, joined.length - 1]) {
      const t = Buffer.from(joined);
      t[at]! ^= 1;
      deepEqual((await arrive(t)).result, { error: 'STATUS_ACCESS_DENIED' }, `byte ${at}`);
    }
    // CCM cannot stream, and a header that does not check out is left to decrypt to refuse.
    const ccm = sharedBytes(joined.length, 0);
    joined.copy(ccm);
    equal(
      decryptAsArriving('AES-128-CCM', () => key, ccm),
      undefined,
    );
    equal(
      decryptAsArriving('AES-128-GCM', () => undefined, ccm),
      undefined,
    );
    // A frame that never completes is dropped: nothing counted, and the workers go on.
    const before = aeadPool.bytesDone.open;
    const half = sharedBytes(joined.length, 0);
    joined.copy(half, 0, 0, 200_000);
    const dropped = decryptAsArriving('AES-128-GCM', () => key, half)!;
    dropped.more(200_000);
    dropped.drop();
    const again = await arrive(joined);
    ok('plaintext' in again.result && again.result.plaintext.equals(plaintext));
    equal(aeadPool.bytesDone.open - before, joined.length - 52, 'only the whole frame counted');
  });

  for (const cipher of CIPHERS) {
    test(`row 5 (${cipher}): round trip; every tampered byte is STATUS_ACCESS_DENIED`, () => {
      const key = keyOf(cipher, '000102030405060708090a0b0c0d0e0f');
      const plaintext = Buffer.concat([hex('FE534D4240000100'), Buffer.alloc(120, 7)]);
      const frame = encrypt(cipher, key, 0x42n, plaintext);
      deepEqual(
        decrypt(cipher, () => key, frame),
        { sessionId: 0x42n, plaintext },
      );
      // Nonces never repeat: two encryptions of the same message differ.
      ok(!encrypt(cipher, key, 0x42n, plaintext).equals(frame));
      for (let at = 4; at < frame.length; at++) {
        // OriginalMessageSize and Flags are checked before the tag (row 6). Everything else —
        // the Nonce field's unused tail, Reserved and SessionId included — is in the AAD.
        if ((at >= 36 && at < 40) || (at >= 42 && at < 44)) continue;
        const t = Buffer.from(frame);
        t[at] = t[at]! ^ 0x80;
        deepEqual(
          decrypt(cipher, () => key, t),
          { error: 'STATUS_ACCESS_DENIED' },
          `byte ${at}`,
        );
      }
      deepEqual(
        decrypt(cipher, () => Buffer.alloc(key.length, 0xff), frame),
        { error: 'STATUS_ACCESS_DENIED' },
      );
    });
  }

  test('row 6: a malformed transform header is STATUS_INVALID_PARAMETER', () => {
    const key = Buffer.alloc(16, 1);
    const frame = encrypt('AES-128-GCM', key, 7n, Buffer.alloc(80, 1));
    const bad: Array<[string, (f: Buffer) => Buffer]> = [
      ['empty', () => Buffer.alloc(0)],
      ['header only', (f) => f.subarray(0, 52)],
      ['truncated', (f) => f.subarray(0, f.length - 1)],
      ['ProtocolId 0xFE', (f) => Buffer.concat([hex('FE'), f.subarray(1)])],
      ['OriginalMessageSize too large', (f) => patch(f, 36, (b) => b.writeUInt32LE(81, 36))],
      ['OriginalMessageSize too small', (f) => patch(f, 36, (b) => b.writeUInt32LE(79, 36))],
      ['Flags 0', (f) => patch(f, 42, (b) => b.writeUInt16LE(0, 42))],
      ['Flags 2', (f) => patch(f, 42, (b) => b.writeUInt16LE(2, 42))],
    ];
    for (const [name, mutate] of bad)
      deepEqual(
        decrypt('AES-128-GCM', () => key, mutate(frame)),
        { error: 'STATUS_INVALID_PARAMETER' },
        name,
      );
  });

  test('row 7: an unknown session (or another session id) is STATUS_ACCESS_DENIED', () => {
    const key = Buffer.alloc(16, 1);
    const frame = encrypt('AES-128-CCM', key, 7n, Buffer.alloc(80, 1));
    deepEqual(
      decrypt('AES-128-CCM', () => undefined, frame),
      { error: 'STATUS_ACCESS_DENIED' },
    );
    const other = patch(frame, 44, (b) => b.writeBigUInt64LE(8n, 44));
    deepEqual(
      decrypt('AES-128-CCM', () => key, other),
      { error: 'STATUS_ACCESS_DENIED' },
    );
  });
});

function patch(frame: Buffer, _at: number, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(frame);
  edit(b);
  return b;
}
