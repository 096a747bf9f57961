import { parseDuration, UnitError } from '../../util/units.ts';
import { CliExit } from '../context.ts';

/** `--timeout 30s` in milliseconds; a bad value is a usage error (exit 2) naming the option. */
export function timeoutOption(text: string): number {
  try {
    return parseDuration(text);
  } catch (e) {
    if (e instanceof UnitError) throw new CliExit(`--timeout: ${e.message}`, 2);
    throw e;
  }
}
