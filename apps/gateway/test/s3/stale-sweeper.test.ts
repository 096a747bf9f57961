import { ok } from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { StaleUploadSweeper } from '../../src/protocols/s3/multipart/stale.ts';
import type { UploadStore } from '../../src/protocols/s3/multipart/store.ts';

/** Reloads come for many reasons: one that leaves the expiry alone must not put the next sweep off. */
test('reloads that do not change s3.stale_uploads_expiry leave the pending sweep where it was', async () => {
  let listed = 0;
  const uploads = {
    list: async () => {
      listed++;
      return [];
    },
  } as unknown as UploadStore;
  const sweeper = new StaleUploadSweeper(uploads, () => 1000, pino({ level: 'silent' }));
  sweeper.start(); // a sweep every 250 ms
  const until = Date.now() + 1500;
  while (Date.now() < until && listed === 0) {
    sweeper.reschedule(); // a reload every 50 ms, the expiry unchanged
    await new Promise((r) => setTimeout(r, 50));
  }
  await sweeper.stop();
  ok(listed > 0, 'the sweep ran although reloads kept coming');
});
