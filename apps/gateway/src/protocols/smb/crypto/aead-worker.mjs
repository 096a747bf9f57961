// SMB3 message encryption and decryption off the event loop (aead-pool.ts): plain JavaScript,
// because worker threads do not inherit the tsx loader on Node 20. The bytes stay in
// SharedArrayBuffer memory both threads see; a message names a span of it:
//   { op: 'open', id, algorithm, key, nonce, aad, tag, data: Span }
//     decrypts data in place; answers { id, ok } (ok false: it does not authenticate)
//   { op: 'seal', id, algorithm, key, nonce, aad, parts: Array<Span | Uint8Array>, out: Span }
//     encrypts the parts, in order, into out; answers { id, tag }
// A Span is { buffer: SharedArrayBuffer, offset, length }; a small part comes as a copy. Any
// failure answers { id, error }.
// Node's ciphers hand every output piece back in a fresh buffer; here those pieces die in this
// thread's small heap instead of pressing the event loop's collector into full collections.
// Pieces are copied with Buffer#fill (memcpy): TypedArray copies into shared memory go byte by
// byte at unaligned offsets (util/copy-into.ts).
import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const TAG_SIZE = 16;
const PIECE = 256 * 1024;

const bytes = (s) =>
  s instanceof Uint8Array
    ? Buffer.from(s.buffer, s.byteOffset, s.length)
    : Buffer.from(s.buffer, s.offset, s.length);

function copyInto(target, at, src) {
  if (src.length > 0) target.fill(src, at, at + src.length);
}

function open(m) {
  const data = bytes(m.data);
  const d = createDecipheriv(m.algorithm, m.key, m.nonce, { authTagLength: TAG_SIZE });
  d.setAuthTag(m.tag);
  d.setAAD(m.aad, { plaintextLength: data.length });
  if (m.algorithm === 'aes-128-ccm') {
    // CCM takes its input in one update and authenticates there or in final.
    let plain;
    try {
      plain = d.update(data);
      d.final();
    } catch {
      return false;
    }
    copyInto(data, 0, plain);
    return true;
  }
  let written = 0;
  for (let at = 0; at < data.length; at += PIECE) {
    const piece = d.update(data.subarray(at, at + PIECE));
    copyInto(data, written, piece);
    written += piece.length;
  }
  try {
    d.final();
  } catch {
    return false;
  }
  return true;
}

function seal(m) {
  const out = bytes(m.out);
  const parts = m.parts.map(bytes);
  const c = createCipheriv(m.algorithm, m.key, m.nonce, { authTagLength: TAG_SIZE });
  c.setAAD(m.aad, { plaintextLength: out.length });
  let written = 0;
  if (m.algorithm === 'aes-128-ccm') {
    // CCM takes its input in one update: gather it into out, then encrypt that.
    for (const p of parts) {
      copyInto(out, written, p);
      written += p.length;
    }
    copyInto(out, 0, c.update(out));
  } else {
    for (const p of parts)
      for (let at = 0; at < p.length; at += PIECE) {
        const piece = c.update(p.subarray(at, at + PIECE));
        copyInto(out, written, piece);
        written += piece.length;
      }
  }
  c.final();
  return c.getAuthTag();
}

parentPort.on('message', (m) => {
  try {
    if (m.op === 'open') parentPort.postMessage({ id: m.id, ok: open(m) });
    else if (m.op === 'seal') parentPort.postMessage({ id: m.id, tag: seal(m) });
    else throw new Error(`unknown op ${m.op}`);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
