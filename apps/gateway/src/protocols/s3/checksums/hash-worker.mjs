// Incremental hashing off the event loop (hash-pool.ts): plain JavaScript, because worker
// threads do not inherit the tsx loader on Node 20. Messages, in order per session id:
//   { op: 'update', id, algorithms?, buffer, length, digest }   { op: 'digest', id, algorithms? }
//   { op: 'cancel', id }
// A session's first message carries its algorithms. An update's buffer (a SharedArrayBuffer:
// not copied, not transferred) is hashed up to `length` and handed back with
// { id, hashed: length, buffer } so the pool reuses it; with `digest`, that reply also carries
// { digests: { algorithm: Uint8Array } } (or { error }), as a digest message's reply does.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const sessions = new Map();

function hashesOf(m) {
  if (m.algorithms) {
    sessions.set(
      m.id,
      m.algorithms.map((a) => [a, createHash(a)]),
    );
  }
  const hashes = sessions.get(m.id);
  if (!hashes) throw new Error(`no hash session ${m.id}`);
  return hashes;
}

function digestsOf(id, hashes) {
  sessions.delete(id);
  const digests = {};
  for (const [a, h] of hashes) digests[a] = h.digest();
  return digests;
}

parentPort.on('message', (m) => {
  let reply = { id: m.id };
  try {
    if (m.op === 'update') {
      reply = { id: m.id, hashed: m.length, buffer: m.buffer };
      const hashes = hashesOf(m);
      const bytes = new Uint8Array(m.buffer, 0, m.length);
      for (const [, h] of hashes) h.update(bytes);
      if (m.digest) reply.digests = digestsOf(m.id, hashes);
      parentPort.postMessage(reply);
    } else if (m.op === 'digest') {
      parentPort.postMessage({ id: m.id, digests: digestsOf(m.id, hashesOf(m)) });
    } else if (m.op === 'cancel') {
      sessions.delete(m.id);
    }
  } catch (e) {
    sessions.delete(m.id);
    reply.error = e instanceof Error ? e.message : String(e);
    parentPort.postMessage(reply);
  }
});
