/**
 * RC4 (the ARCFOUR keystream, checked against RFC 6229). Node 20's OpenSSL 3 no longer ships it,
 * and NTLMSSP needs it twice: to unwrap the client's EncryptedRandomSessionKey (MS-NLMP 3.4.5.1
 * KXKEY/RC4K) and to seal the checksum of an NTLMSSP signature (MS-NLMP 3.4.4.2), where one
 * keystream runs on across messages — hence a stateful stream beside the one-shot function.
 */
export class Rc4Stream {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 256)
      throw new RangeError(`RC4 key must be 1 to 256 bytes, not ${key.length}`);
    const s = this.s;
    for (let n = 0; n < 256; n++) s[n] = n;
    for (let n = 0, j = 0; n < 256; n++) {
      const t = s[n]!;
      j = (j + t + key[n % key.length]!) & 0xff;
      s[n] = s[j]!;
      s[j] = t;
    }
  }

  /** XORs the next data.length keystream bytes into a copy of data. */
  process(data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    const s = this.s;
    let { i, j } = this;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      const t = s[i]!;
      j = (j + t) & 0xff;
      s[i] = s[j]!;
      s[j] = t;
      out[n] = data[n]! ^ s[(s[i]! + t) & 0xff]!;
    }
    this.i = i;
    this.j = j;
    return out;
  }
}

/** RC4 encryption (and decryption, the same operation) of data under a fresh key schedule. */
export function rc4(key: Buffer, data: Buffer): Buffer {
  return new Rc4Stream(key).process(data);
}
