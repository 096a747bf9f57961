import pino, { type Logger } from 'pino';

/**
 * A logger at info whose lines a test reads (`lines`), for a test gateway's logger (with its
 * file's `log_level: info`, so that a reload of the file keeps the level).
 */
export function capturedLog(): { log: Logger; lines: string[]; logged(text: string): boolean } {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return { log, lines, logged: (text) => lines.some((l) => l.includes(text)) };
}
