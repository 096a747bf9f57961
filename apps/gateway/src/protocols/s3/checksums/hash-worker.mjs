// Incremental hashing off the event loop (hash-pool.ts): plain JavaScript, because worker
// threads do not inherit the tsx loader on Node 20. Messages, in order per session id:
//   { op: 'open', id, algorithms }   { op: 'update', id, buffer, length }   { op: 'digest', id }
//   { op: 'cancel', id }
// An update's buffer (a SharedArrayBuffer: not copied, not transferred) is hashed up to `length`
// and handed back with { id, hashed: length, buffer } so the pool reuses it; a digest answers
// { id, digests: { algorithm: Uint8Array } } or { id, error }.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const sessions = new Map();

parentPort.on('message', (m) => {
  try {
    if (m.op === 'open') {
      sessions.set(
        m.id,
        m.algorithms.map((a) => [a, createHash(a)]),
      );
    } else if (m.op === 'update') {
      const bytes = new Uint8Array(m.buffer, 0, m.length);
      for (const [, h] of sessions.get(m.id) ?? []) h.update(bytes);
      parentPort.postMessage({ id: m.id, hashed: m.length, buffer: m.buffer });
    } else if (m.op === 'digest') {
      const hashes = sessions.get(m.id);
      sessions.delete(m.id);
      if (!hashes) throw new Error(`no hash session ${m.id}`);
      const digests = {};
      for (const [a, h] of hashes) digests[a] = h.digest();
      parentPort.postMessage({ id: m.id, digests });
    } else if (m.op === 'cancel') {
      sessions.delete(m.id);
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
