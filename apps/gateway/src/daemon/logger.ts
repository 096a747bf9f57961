import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/**
 * JSON lines (one object per line, `msg` carrying the runbook's exact text where it quotes a
 * log line), pretty-printed when stdout is a terminal. Synchronous pretty stream: no worker
 * thread, so it works under tsx and lines are never lost at exit.
 */
export function createLogger(level: string, opts: { pretty?: boolean; name?: string } = {}): Logger {
  const usePretty = opts.pretty ?? process.stdout.isTTY === true;
  const options = {
    level,
    base: { node: opts.name },
    // Anything that could carry a secret is cut out before it reaches a line.
    redact: {
      paths: [
        'password',
        'secret',
        'token',
        '*.password',
        '*.secret',
        '*.token',
        'authorization',
        '*.authorization',
      ],
      censor: '[redacted]',
    },
  };
  if (usePretty) return pino(options, pretty({ colorize: true, sync: true, ignore: 'pid,hostname,node' }));
  return pino(options, pino.destination({ fd: 1, sync: true }));
}
