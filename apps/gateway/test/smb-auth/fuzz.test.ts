/**
 * Garbage, truncated and mutated security blobs and transform frames (fast-check; in CI 22,000
 * NTLM/SPNEGO blob cases and 20,000 transform frames, times FUZZ_CASES_SCALE; FUZZ_SEED replays): the acceptor only ever answers 'continue' / 'failed' (or 'done' for the right user
 * when a mutation changed nothing that matters), codecs only throw their typed errors, and
 * decrypt() only returns an error — never a crash, never a hang.
 */
import { ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type AcceptorStep,
  DerError,
  decodeAuthenticate,
  decodeChallenge,
  decodeNegotiate,
  decodeSpnego,
  NTLM_MAX_LIFETIME_MS,
  NtlmAcceptor,
  NtlmError,
  parseNtlmv2Response,
  ReplayCache,
} from '../../src/protocols/smb/auth/index.ts';
import { decrypt, encrypt } from '../../src/protocols/smb/crypto/index.ts';
import { fuzzCases, fuzzSeed, runFuzz } from '../support/fuzz.ts';
import { ntHashOf, TestNtlmClient } from './ntlm-client.ts';

const NOW = new Date('2025-03-14T15:09:26Z');
const ALICE = { name: 'alice', ntHash: ntHashOf('Secret1!'), uid: 1001, gid: 1001, gids: [] };

function acceptor(): NtlmAcceptor {
  return new NtlmAcceptor({
    netbiosDomain: 'CLAUDEFS',
    serverName: 'GATEWAY',
    workgroup: 'CLAUDEFS',
    now: () => NOW,
    replayCache: new ReplayCache(NTLM_MAX_LIFETIME_MS),
    allowGuest: false,
    lookup: async (user) => (user.toLowerCase() === 'alice' ? { ...ALICE } : null),
  });
}

const client = (spnego: boolean): TestNtlmClient =>
  new TestNtlmClient({ user: 'alice', password: 'Secret1!', domain: 'CLAUDEFS', spnego });

const mutation = fc.record({
  kind: fc.constantFrom('flip', 'set', 'truncate', 'insert', 'delete', 'extend'),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});

function mutate(input: Buffer, steps: Array<{ kind: string; at: number; byte: number }>): Buffer {
  let b = Buffer.from(input);
  for (const { kind, at, byte } of steps) {
    const i = b.length === 0 ? 0 : at % b.length;
    if (kind === 'flip' && b.length > 0) b[i] = b[i]! ^ (1 << (byte % 8));
    else if (kind === 'set' && b.length > 0) b[i] = byte;
    else if (kind === 'truncate') b = b.subarray(0, i);
    else if (kind === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
    else if (kind === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
    else if (kind === 'extend') b = Buffer.concat([b, Buffer.alloc(byte % 32, byte)]);
  }
  return b;
}

function allowed(r: AcceptorStep, states: ReadonlyArray<AcceptorStep['state']>): boolean {
  if (!states.includes(r.state)) return false;
  if (r.state === 'done') return r.user.name === 'alice' && r.sessionKey.length === 16;
  if (r.state === 'failed') return typeof r.reason === 'string' && r.status.startsWith('STATUS_');
  return Buffer.isBuffer(r.token);
}

const typed = (e: unknown): boolean => e instanceof DerError || e instanceof NtlmError;

const BLOBS = 'NTLM/SPNEGO blobs';
const FIRST_TOKENS = fuzzCases(5_000);
const AFTER_CHALLENGE = fuzzCases(4_000);
const NEGOTIATES = fuzzCases(4_000);
const AUTHENTICATES = fuzzCases(5_000);
const DECODER_BLOBS = fuzzCases(4_000);
const TRANSFORM_FRAMES = fuzzCases(20_000);

/** fast-check's settings for one fuzzer: its case count and a seed FUZZ_SEED can replay. */
const runs = (name: string, numRuns: number) => ({ numRuns, seed: fuzzSeed(name) });

describe('fuzz: the acceptor', () => {
  test(`${FIRST_TOKENS} arbitrary blobs as the first token: continue or failed`, async () => {
    await runFuzz(BLOBS, FIRST_TOKENS, () =>
      fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
          const r = await acceptor().step(Buffer.from(bytes));
          ok(allowed(r, ['continue', 'failed']), JSON.stringify(r));
        }),
        runs('smb-auth first token', FIRST_TOKENS),
      ),
    );
  });

  test(`${AFTER_CHALLENGE} arbitrary blobs after the CHALLENGE (SPNEGO and raw): failed`, async () => {
    await runFuzz(BLOBS, AFTER_CHALLENGE, () =>
      fc.assert(
        fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 600 }), async (spnego, bytes) => {
          const a = acceptor();
          const first = await a.step(client(spnego).negotiate());
          ok(first.state === 'continue');
          const r = await a.step(Buffer.from(bytes));
          ok(allowed(r, ['failed']), JSON.stringify(r));
        }),
        runs('smb-auth after challenge', AFTER_CHALLENGE),
      ),
    );
  });

  test(`${NEGOTIATES} mutated NEGOTIATE tokens: continue or failed`, async () => {
    const tokens = [client(true).negotiate(), client(false).negotiate()];
    await runFuzz(BLOBS, NEGOTIATES, () =>
      fc.assert(
        fc.asyncProperty(
          fc.nat(1),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          async (which, steps) => {
            const r = await acceptor().step(mutate(tokens[which]!, steps));
            ok(allowed(r, ['continue', 'failed']), JSON.stringify(r));
          },
        ),
        runs('smb-auth negotiate', NEGOTIATES),
      ),
    );
  });

  test(`${AUTHENTICATES} mutated and truncated AUTHENTICATE tokens: failed, or done as alice`, async () => {
    await runFuzz(BLOBS, AUTHENTICATES, () =>
      fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          async (spnego, steps) => {
            const a = acceptor();
            const c = client(spnego);
            const ch = await a.step(c.negotiate());
            if (ch.state !== 'continue') throw new Error('expected continue');
            const r = await a.step(mutate(c.authenticate(ch.token), steps));
            ok(allowed(r, ['failed', 'done', 'continue']), JSON.stringify(r));
          },
        ),
        runs('smb-auth authenticate', AUTHENTICATES),
      ),
    );
  });
});

describe('fuzz: codecs and transform frames', () => {
  test(`${DECODER_BLOBS} arbitrary blobs through every decoder: a value or a typed error`, async () => {
    await runFuzz(BLOBS, DECODER_BLOBS, () =>
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, ntlmHeader) => {
          // Half the cases start like an NTLMSSP message so the decoders get past the signature.
          const b = ntlmHeader
            ? Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), Buffer.from(bytes)])
            : Buffer.from(bytes);
          const decoders = [
            () => decodeSpnego(b),
            () => decodeNegotiate(b),
            () => decodeChallenge(b),
            () => decodeAuthenticate(b, true),
            () => decodeAuthenticate(b, false),
            () => parseNtlmv2Response(b),
          ];
          for (const run of decoders) {
            try {
              run();
            } catch (e) {
              ok(typed(e), String(e));
            }
          }
        }),
        runs('smb-auth decoders', DECODER_BLOBS),
      ),
    );
  });

  test(`${TRANSFORM_FRAMES} garbage and mutated transform frames: an error result, never a throw`, async () => {
    const key = Buffer.alloc(16, 3);
    const frames = {
      'AES-128-CCM': encrypt('AES-128-CCM', key, 9n, Buffer.alloc(100, 1)),
      'AES-128-GCM': encrypt('AES-128-GCM', key, 9n, Buffer.alloc(100, 1)),
    };
    await runFuzz('SMB2 transform frames', TRANSFORM_FRAMES, () =>
      fc.assert(
        fc.property(
          fc.constantFrom('AES-128-CCM' as const, 'AES-128-GCM' as const),
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
            fc.array(mutation, { minLength: 1, maxLength: 3 }).map((m) => m),
          ),
          (cipher, input) => {
            const frame = Buffer.isBuffer(input) ? input : mutate(frames[cipher], input);
            const r = decrypt(cipher, (id) => (id === 9n ? key : undefined), frame);
            ok(
              'error' in r || r.plaintext.equals(Buffer.alloc(100, 1)),
              'error' in r ? r.error : 'wrong plaintext',
            );
          },
        ),
        runs('smb transform frames', TRANSFORM_FRAMES),
      ),
    );
  });
});
