import type { Protocol } from '../../config/types.ts';
import type { RequestObserver } from '../connections.ts';
import { LatencyWindow } from './latency-window.ts';

/** `gateway_latency_seconds` upper bounds: 50 µs to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BOUND_COUNT = LATENCY_BUCKETS.length;

/** One `{protocol, op}` series: the counters behind requests_total, errors_total and the histogram. */
export interface OpSeries {
  readonly protocol: string;
  readonly op: string;
  requests: number;
  errors: number;
  sumSeconds: number;
  /** Per bucket, not cumulative; the last slot is above 10 s (+Inf only). */
  readonly buckets: Float64Array;
}

/** One `{protocol, code}` series of gateway_error_codes_total. */
export interface CodeSeries {
  readonly protocol: string;
  readonly code: string;
  count: number;
}

export interface ProtocolSeries {
  readonly protocol: string;
  requests: number;
  errors: number;
  readonly ops: Map<string, OpSeries>;
  readonly codes: Map<string, CodeSeries>;
  readonly latency: LatencyWindow;
}

/**
 * The request observer behind every per-request metric. Protocols report each finished request
 * through the connection registry; the first request of a protocol+op creates its series and
 * every later one is one Map lookup, a few increments and a bucket search — no allocation, no
 * label hashing (prom-client's labelled children hash and allocate on every observe). The
 * prom-client metrics read these counters when scraped.
 */
export class RequestStats implements RequestObserver {
  readonly protocols = new Map<string, ProtocolSeries>();
  private readonly nfs: ProtocolSeries;
  private readonly s3: ProtocolSeries;
  private readonly smb: ProtocolSeries;

  constructor(private readonly windowSlots: number) {
    this.nfs = this.addProtocol('nfs');
    this.s3 = this.addProtocol('s3');
    this.smb = this.addProtocol('smb');
  }

  request(protocol: Protocol, op: string, seconds: number, errorCode: string | undefined): void {
    const p = this.seriesOf(protocol);
    const s = p.ops.get(op) ?? addOp(p, op);
    const v = seconds > 0 && seconds < 1e9 ? seconds : 0;
    p.requests++;
    s.requests++;
    s.sumSeconds += v;
    let i = 0;
    while (i < BOUND_COUNT && v > LATENCY_BUCKETS[i]!) i++;
    s.buckets[i]!++;
    p.latency.record(v);
    if (errorCode !== undefined) countError(p, s, errorCode);
  }

  /** The three protocols are fields: comparing interned strings beats a Map lookup. */
  private seriesOf(protocol: string): ProtocolSeries {
    if (protocol === 'nfs') return this.nfs;
    if (protocol === 's3') return this.s3;
    if (protocol === 'smb') return this.smb;
    return this.protocol(protocol);
  }

  /** The protocol's series, created empty when it has seen no request yet. */
  protocol(protocol: string): ProtocolSeries {
    return this.protocols.get(protocol) ?? this.addProtocol(protocol);
  }

  private addProtocol(protocol: string): ProtocolSeries {
    const p: ProtocolSeries = {
      protocol,
      requests: 0,
      errors: 0,
      ops: new Map(),
      codes: new Map(),
      latency: new LatencyWindow(this.windowSlots),
    };
    this.protocols.set(protocol, p);
    return p;
  }
}

function addOp(p: ProtocolSeries, op: string): OpSeries {
  const s: OpSeries = {
    protocol: p.protocol,
    op,
    requests: 0,
    errors: 0,
    sumSeconds: 0,
    buckets: new Float64Array(BOUND_COUNT + 1),
  };
  p.ops.set(op, s);
  return s;
}

// Apart from request() so that stays small enough for V8 to inline at the registry's call site.
function countError(p: ProtocolSeries, s: OpSeries, code: string): void {
  p.errors++;
  s.errors++;
  const c = p.codes.get(code) ?? addCode(p, code);
  c.count++;
}

function addCode(p: ProtocolSeries, code: string): CodeSeries {
  const c: CodeSeries = { protocol: p.protocol, code, count: 0 };
  p.codes.set(code, c);
  return c;
}
