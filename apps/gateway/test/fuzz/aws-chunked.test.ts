/**
 * aws-chunked framing (S3 API Reference, "Transferring Payload in Multiple Chunks"), mutated:
 * the incremental decoder, fed in random splits, either completes with every chunk's data
 * exactly its declared size or throws S3Error (InvalidRequest, MalformedTrailerError,
 * IncompleteBody); it never buffers more than one line. The streaming body verifier over the
 * same framing (signed chunks and unsigned trailers) only ever fails with S3Error, and what it
 * accepts is exactly the data that was signed.
 */
import { ok } from 'node:assert/strict';
import { test } from 'node:test';
import {
  AwsChunkedDecoder,
  MAX_LINE_BYTES,
  MAX_TRAILER_BYTES,
} from '../../src/protocols/s3/auth/aws-chunked.ts';
import { bodyVerifier, signingKey } from '../../src/protocols/s3/auth/index.ts';
import { createChecksum } from '../../src/protocols/s3/checksums/index.ts';
import { S3Error } from '../../src/protocols/s3/errors.ts';
import { runThrough, signedChunkedBody, split, unsignedTrailerBody } from '../s3-auth/helpers.ts';
import { fuzzCases, fuzzSeed, mutateBytes, Rng, runFuzz } from '../support/fuzz.ts';

function crc32(data: Buffer): string {
  const c = createChecksum('crc32');
  c.update(data);
  return c.digest().toString('base64');
}

const FRAMING_CODES = new Set(['InvalidRequest', 'MalformedTrailerError', 'IncompleteBody']);
const SIG = 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648';

/** A well-formed body: random chunks, signed or not, with or without trailers. */
function validBody(r: Rng): { body: Buffer; trailers: boolean } {
  const parts: string[] = [];
  const signed = r.chance(2);
  for (let n = r.below(5); n > 0; n--) {
    const size = 1 + r.below(r.chance(4) ? 3000 : 40);
    parts.push(
      `${r.chance(3) ? size.toString(16).toUpperCase() : size.toString(16)}${signed ? `;chunk-signature=${SIG}` : ''}\r\n`,
    );
    parts.push('d'.repeat(size), '\r\n');
  }
  parts.push(`0${signed ? `;chunk-signature=${SIG}` : ''}\r\n`);
  const trailers = r.chance(2);
  if (trailers) {
    for (let n = 1 + r.below(3); n > 0; n--)
      parts.push(`x-amz-checksum-crc32:${r.pick(['AAAAAA==', 'sOO8/Q==', ''])}\r\n`);
    if (r.chance(2)) parts.push('x-amz-trailer-signature:00\r\n');
  }
  parts.push('\r\n');
  return { body: Buffer.from(parts.join('')), trailers };
}

const PIECES = [
  '0\r\n',
  '\r\n',
  'ffffffffffffff\r\n',
  'fffffffffffff\r\n',
  '1;chunk-signature=\r\n',
  ';;;=\r\n',
  'x-amz-checksum-crc32:AAAAAA==\r\n',
  'a:b\r\n',
  ':\r\n',
  '\n',
  '\r',
  'ZZ\r\n',
  ' 1\r\n',
  '-1\r\n',
];

function hostileBody(r: Rng): Buffer {
  switch (r.below(4)) {
    case 0:
      return r.bytes(r.below(400));
    case 1: {
      const p: string[] = [];
      for (let n = r.below(20); n > 0; n--) p.push(r.pick(PIECES));
      return Buffer.from(p.join(''));
    }
    case 2:
      // An endless chunk header or trailer line: refused once it passes the line limit.
      return Buffer.concat([
        Buffer.from(r.chance(2) ? '' : '0\r\n'),
        Buffer.alloc(MAX_LINE_BYTES + r.below(20_000), r.pick([0x61, 0x31, 0x3b])),
      ]);
    default: {
      // Many small trailers: the section's limit holds.
      const line = Buffer.from(`x-amz-meta-${'t'.repeat(r.below(200))}:v\r\n`);
      return Buffer.concat([Buffer.from('0\r\n'), ...Array.from({ length: 20 + r.below(200) }, () => line)]);
    }
  }
}

const DECODER_CASES = fuzzCases(16_000);
const VERIFIER_CASES = fuzzCases(4_000);

test(`1 the decoder: ${DECODER_CASES} mutated and hostile bodies in random splits; complete with exact chunk sizes or an S3 framing error, one line buffered at most`, async () => {
  const r = new Rng(fuzzSeed('aws-chunked decoder'));
  const outcomes = new Map<string, number>();
  await runFuzz('S3 aws-chunked framing', DECODER_CASES, () => {
    for (let i = 0; i < DECODER_CASES; i++) {
      let body: Buffer;
      let trailers = r.chance(2);
      if (r.chance(5)) body = hostileBody(r);
      else {
        const v = validBody(r);
        trailers = v.trailers;
        body = r.chance(8) ? v.body : mutateBytes(r, v.body, [], 3);
      }
      let declared = 0;
      let seen = 0;
      let ended = false;
      const decoder = new AwsChunkedDecoder(
        {
          chunkHeader(size) {
            ok(Number.isSafeInteger(size) && size >= 0 && seen === declared, 'chunk header inside a chunk');
            declared = size;
            seen = 0;
          },
          data(bytes) {
            seen += bytes.length;
            ok(seen <= declared, 'more data than the chunk declared');
          },
          chunkEnd(size) {
            ok(size === declared && seen === size, `chunk of ${size} ended after ${seen} bytes`);
          },
          trailer(name, value) {
            ok(name === name.toLowerCase() && typeof value === 'string');
          },
          end() {
            ended = true;
          },
        },
        trailers,
      );
      const internals = decoder as unknown as { lineBytes: number; trailerBytes: number };
      try {
        let at = 0;
        while (at < body.length) {
          const n = 1 + r.below(r.chance(3) ? 8 : 4096);
          decoder.write(body.subarray(at, at + n));
          at += n;
          ok(internals.lineBytes <= MAX_LINE_BYTES + 1, `${internals.lineBytes} bytes of one line buffered`);
          ok(internals.trailerBytes <= MAX_TRAILER_BYTES, `${internals.trailerBytes} trailer bytes`);
        }
        decoder.finish();
        ok(ended && decoder.complete, 'finished without end()');
        outcomes.set('complete', (outcomes.get('complete') ?? 0) + 1);
      } catch (e) {
        if (!(e instanceof S3Error) || !FRAMING_CODES.has(e.code))
          throw new Error(`${JSON.stringify(body.subarray(0, 200).toString('latin1'))}: ${e}`);
        outcomes.set(e.code, (outcomes.get(e.code) ?? 0) + 1);
      }
    }
  });
  ok((outcomes.get('complete') ?? 0) > DECODER_CASES / 20, JSON.stringify([...outcomes]));
  ok((outcomes.get('InvalidRequest') ?? 0) > DECODER_CASES / 10, JSON.stringify([...outcomes]));
});

test(`2 the body verifier: ${VERIFIER_CASES} mutated signed and unsigned-trailer bodies; only S3Errors, and what passes is exactly what was signed`, async () => {
  const r = new Rng(fuzzSeed('aws-chunked verifier'));
  const chain = {
    signingKey: signingKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3'),
    amzDate: '20130524T000000Z',
    scope: '20130524/us-east-1/s3/aws4_request',
    seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  };
  const principal = { accessKeyId: 'AKID', userName: 'u', uid: 1, gid: 1, gids: [] };
  const outcomes = new Map<string, number>();
  await runFuzz('S3 aws-chunked framing', VERIFIER_CASES, async () => {
    for (let i = 0; i < VERIFIER_CASES; i++) {
      const chunks = Array.from({ length: 1 + r.below(3) }, () => r.bytes(1 + r.below(300)));
      const data = Buffer.concat(chunks);
      const signed = r.chance(2);
      const good = signed
        ? signedChunkedBody(chain, chunks).body
        : unsignedTrailerBody(chunks, { 'x-amz-checksum-crc32': crc32(data) });
      const body = r.chance(10) ? good : r.chance(6) ? hostileBody(r) : mutateBytes(r, good, [], 3);
      const payload = signed
        ? { kind: 'streaming-signed' as const, trailer: false, decodedLength: data.length }
        : { kind: 'streaming-unsigned-trailer' as const, decodedLength: data.length };
      const headers = signed ? {} : { 'x-amz-trailer': 'x-amz-checksum-crc32' };
      const v = bodyVerifier({ kind: 'sigv4', principal, payload, presigned: false, ...chain }, headers);
      const sizes = Array.from({ length: 1 + r.below(3) }, () => 1 + r.below(700));
      const { output, error } = await runThrough(v, split(body, sizes));
      if (error === undefined) {
        ok(output.equals(data), 'accepted a body that decodes to other data');
        outcomes.set('accepted', (outcomes.get('accepted') ?? 0) + 1);
      } else {
        if (!(error instanceof S3Error))
          throw new Error(`${JSON.stringify(body.subarray(0, 200).toString('latin1'))}: ${error}`);
        ok(error.status >= 400 && error.status < 500, `${error.code} ${error.status}`);
        outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
      }
    }
  });
  ok((outcomes.get('accepted') ?? 0) > VERIFIER_CASES / 20, JSON.stringify([...outcomes]));
  ok(outcomes.size > 3, JSON.stringify([...outcomes]));
});
