import pino from 'pino';
import type { Logger } from '../../daemon/logger.ts';
import type { LogLineView } from './api.ts';

/** Lines kept; each line is cut at MAX_LINE characters. */
export const LOG_RING_LINES = 500;
const MAX_LINE = 4096;

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

type Writable = { write: (chunk: unknown, ...rest: unknown[]) => unknown };

/**
 * The gateway's most recent log lines, for support bundles and for the wizards that ask
 * "was the runbook's log line written?". It sits on the logger's destination (every child
 * logger shares it), so it holds exactly the lines the operator's log holds — already redacted,
 * and only at the level in force.
 */
export class LogRing {
  private readonly lines: string[] = [];
  private next = 0;
  private detachFn: (() => void) | undefined;
  /** When the ring began to see lines (ms since the epoch). */
  readonly since = Date.now();
  /** Why the ring cannot see the logger's lines, when it cannot. */
  problem: string | undefined;

  constructor(readonly capacity = LOG_RING_LINES) {}

  /** Starts copying every line `log` writes. Safe to call once per ring. */
  attach(log: Logger): void {
    const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
      | Writable
      | undefined;
    if (!stream || typeof stream.write !== 'function') {
      this.problem = 'the logger has no destination stream to read; only diagnostics events are kept';
      return;
    }
    const own = Object.hasOwn(stream, 'write');
    const original = stream.write;
    const ring = this;
    stream.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
      ring.push(chunk);
      return original.call(this, chunk, ...rest);
    };
    this.detachFn = () => {
      if (own) stream.write = original;
      else delete (stream as Partial<Writable>).write;
    };
  }

  detach(): void {
    this.detachFn?.();
    this.detachFn = undefined;
  }

  push(chunk: unknown): void {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue;
      const line = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}…` : raw;
      if (this.lines.length < this.capacity) this.lines.push(line);
      else this.lines[this.next] = line;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  recent(limit = this.capacity): LogLineView[] {
    const ordered =
      this.lines.length < this.capacity
        ? this.lines
        : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return ordered.slice(-limit).map(view);
  }

  /** Lines whose message matches, newest last. */
  find(match: (msg: string) => boolean): LogLineView[] {
    return this.recent().filter((l) => match(l.msg));
  }
}

function view(line: string): LogLineView {
  try {
    const o = JSON.parse(line) as { time?: unknown; level?: unknown; msg?: unknown };
    const level =
      typeof o.level === 'number' ? (LEVEL_NAMES[o.level] ?? String(o.level)) : String(o.level ?? '');
    return {
      time: typeof o.time === 'number' ? o.time : null,
      level,
      msg: typeof o.msg === 'string' ? o.msg : '',
      line,
    };
  } catch {
    return { time: null, level: '', msg: line, line };
  }
}
