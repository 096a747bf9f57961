/**
 * What every fuzzer shares: how many cases to run, which seed, and where to report.
 *
 * - `FUZZ_SEED=<n>` replays a run: every fuzzer prints the seed it used (random otherwise).
 * - `FUZZ_CASES_SCALE=<x>` multiplies every fuzzer's case count (CI runs 1; the fuzz bench
 *   sets it so each decoder gets at least CFS_BENCH_FUZZ_CASES cases).
 * - `CFS_FUZZ_REPORT=<file>`: each fuzzer appends one JSON line (decoder, cases, failures,
 *   milliseconds, peak RSS) — the bench's rows.
 */
import { appendFileSync } from 'node:fs';

/** FUZZ_CASES_SCALE: 1 when unset or not a positive number. */
export function fuzzScale(): number {
  const scale = Number(process.env.FUZZ_CASES_SCALE ?? 1);
  return Number.isFinite(scale) && scale > 0 ? scale : 1;
}

/** The CI count a fuzzer names, times FUZZ_CASES_SCALE. */
export function fuzzCases(ciCases: number): number {
  return Math.max(1, Math.round(ciCases * fuzzScale()));
}

/**
 * A hang limit (node:test `timeout`, a deadline) sized for the CI count, grown with
 * FUZZ_CASES_SCALE so a bench run of fifty times the cases is not cut short; never shrunk.
 */
export function fuzzTimeoutMs(ciMs: number): number {
  return Math.ceil(ciMs * Math.max(1, fuzzScale()));
}

/** FUZZ_SEED when set, otherwise a fresh one; printed so a failure can be replayed. */
export function fuzzSeed(fuzzer: string): number {
  const fixed = process.env.FUZZ_SEED;
  const seed = fixed !== undefined && fixed !== '' ? Number(fixed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`# fuzz ${fuzzer}: seed ${seed} (FUZZ_SEED=${seed} replays it)`);
  return seed;
}

/** xorshift32: the same sequence for the same seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e37_79b9;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  /** 0 ≤ n < max. */
  below(max: number): number {
    return max <= 1 ? 0 : this.next() % max;
  }
  chance(oneIn: number): boolean {
    return this.below(oneIn) === 0;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

const INTERESTING_BYTES = [
  0x00, 0x01, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x26, 0x2f, 0x3a, 0x3b, 0x3c, 0x3e, 0x7f, 0x80, 0xff,
];
const INTERESTING_TEXT = [
  '0',
  '-1',
  '4294967296',
  '99999999999999999999',
  'ffffffff',
  '\r\n',
  '\n',
  '\0',
  '%',
  '%zz',
  '&amp;',
  '<',
  '>',
  '"',
  "'",
  ';',
  ':',
  '=',
  ' ',
  '\t',
  'é',
  '\u{1f600}',
  '..',
  '/',
];

/**
 * One to `max` byte-level mutations of `input`: bit flips, byte sets, interesting bytes and
 * strings, truncation, insertion, deletion, duplication, and splices from `pool`.
 */
export function mutateBytes(r: Rng, input: Buffer, pool: readonly Buffer[] = [], max = 4): Buffer {
  let b = Buffer.from(input);
  for (let n = 1 + r.below(max); n > 0; n--) {
    const at = r.below(b.length + 1);
    switch (r.below(9)) {
      case 0:
        if (at < b.length) b[at] = b[at]! ^ (1 << r.below(8));
        break;
      case 1:
        if (at < b.length) b[at] = r.below(256);
        break;
      case 2:
        if (at < b.length) b[at] = r.pick(INTERESTING_BYTES);
        break;
      case 3:
        b = b.subarray(0, at);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), r.bytes(1 + r.below(16)), b.subarray(at)]);
        break;
      case 5:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.below(16)))]);
        break;
      case 6:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(INTERESTING_TEXT)), b.subarray(at)]);
        break;
      case 7: {
        const len = r.below(Math.min(64, b.length - at) + 1);
        const piece = b.subarray(at, at + len);
        b = Buffer.concat([b.subarray(0, at), piece, piece, b.subarray(at + len)]);
        break;
      }
      default: {
        const other = pool.length > 0 ? r.pick(pool) : b;
        const from = r.below(other.length + 1);
        const piece = other.subarray(from, from + r.below(64));
        b = Buffer.concat([b.subarray(0, at), piece, b.subarray(at + r.below(8))]);
      }
    }
  }
  return b;
}

export interface FuzzRow {
  /** The decoder, as the bench's row names it; rows with the same name add up. */
  decoder: string;
  cases: number;
  failures: number;
  ms: number;
  peakRssBytes: number;
}

/** Appends the row to CFS_FUZZ_REPORT when the bench asked for one. */
export function reportFuzz(row: Omit<FuzzRow, 'peakRssBytes'>): void {
  const file = process.env.CFS_FUZZ_REPORT;
  if (!file) return;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  appendFileSync(file, `${JSON.stringify({ ...row, peakRssBytes })}\n`);
}

/**
 * Runs one fuzzer of `cases` cases and reports it: a thrown error counts as a failure (and is
 * rethrown, failing the test).
 */
export async function runFuzz(decoder: string, cases: number, body: () => unknown): Promise<void> {
  const started = performance.now();
  let failures = 0;
  try {
    await body();
  } catch (e) {
    failures = 1;
    throw e;
  } finally {
    reportFuzz({ decoder, cases, failures, ms: performance.now() - started });
  }
}

/** Resident set size now, in bytes. */
export function rss(): number {
  return process.memoryUsage.rss();
}
