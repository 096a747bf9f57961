// SMB3 message encryption and decryption off the event loop (aead-pool.ts): plain JavaScript,
// because worker threads do not inherit the tsx loader on Node 20. The bytes stay in
// SharedArrayBuffer memory both threads see; a message names a span of it:
//   { op: 'open', id, algorithm, key, nonce, aad, tag, data: Span }
//     decrypts data in place; answers { id, ok } (ok false: it does not authenticate)
//   { op: 'seal', id, algorithm, key, nonce, aad, parts: Array<Span | Uint8Array>, out: Span }
//     encrypts the parts, in order, into out; answers { id, tag }
//   { op: 'open', arriving: true, ... } then { op: 'more', id, upTo } as the data arrives and
//     { op: 'end', id } once it is all there (GCM): decrypts each part as it comes,
//     answers { id, ok } at the end; { op: 'drop', id } forgets it (answers { id })
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
// Bytes per cipher update: through Node's AES-GCM on one core here, 64 KiB pieces ran at
// 4.0 GB/s, 256 KiB at 3.5, 1 MiB at 2.7–3.3 (each piece's output a fresh buffer, copied back).
const PIECE = 64 * 1024;

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
  if (m.algorithm.endsWith('-ccm')) {
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
  if (m.algorithm.endsWith('-ccm')) {
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

// Decryptions whose frames are still arriving, by id: { decipher, data, done }.
const arriving = new Map();

function begin(m) {
  const data = bytes(m.data);
  const d = createDecipheriv(m.algorithm, m.key, m.nonce, { authTagLength: TAG_SIZE });
  d.setAuthTag(m.tag);
  d.setAAD(m.aad, { plaintextLength: data.length });
  arriving.set(m.id, { d, data, done: 0 });
}

/** Decrypts what arrived up to `upTo`, in place. */
function advance(a, upTo) {
  while (a.done < upTo) {
    const end = Math.min(upTo, a.done + PIECE);
    const piece = a.d.update(a.data.subarray(a.done, end));
    copyInto(a.data, a.done, piece);
    a.done += piece.length;
  }
}

function finish(a) {
  advance(a, a.data.length);
  try {
    a.d.final();
  } catch {
    return false;
  }
  return true;
}

parentPort.on('message', (m) => {
  try {
    if (m.op === 'open' && m.arriving) begin(m);
    else if (m.op === 'open') parentPort.postMessage({ id: m.id, ok: open(m) });
    else if (m.op === 'seal') parentPort.postMessage({ id: m.id, tag: seal(m) });
    else if (m.op === 'more') {
      const a = arriving.get(m.id);
      if (a) advance(a, m.upTo);
    } else if (m.op === 'end') {
      const a = arriving.get(m.id);
      arriving.delete(m.id);
      if (!a) throw new Error(`no decryption ${m.id}`);
      parentPort.postMessage({ id: m.id, ok: finish(a) });
    } else if (m.op === 'drop') {
      arriving.delete(m.id);
      parentPort.postMessage({ id: m.id });
    } else throw new Error(`unknown op ${m.op}`);
  } catch (e) {
    arriving.delete(m.id);
    parentPort.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
