import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TortureRun {
  port: number;
  share: string;
  /** `user%password` */
  auth: string;
  /** An smb2.bench test, e.g. smb2.bench.echo. */
  test: string;
  /** The counter it prints each second: `what[num/s=N`. */
  what: string;
  seconds: number;
}

/**
 * The steady rate an smbtorture smb2.bench test prints each second: the mean after the first
 * second, which warms up. Throws when the test fails or prints no rate.
 */
export async function tortureRate(r: TortureRun): Promise<number> {
  const { stdout, stderr } = await exec(
    'smbtorture',
    [
      `//127.0.0.1/${r.share}`,
      '-p',
      String(r.port),
      '-U',
      r.auth,
      r.test,
      `--option=torture:timelimit=${r.seconds}`,
    ],
    { maxBuffer: 1 << 22, timeout: (r.seconds + 60) * 1000 },
  );
  const pattern = new RegExp(`${r.what}\\[num/s=(\\d+)`, 'g');
  const steady = [...`${stdout}${stderr}`.matchAll(pattern)].map((m) => Number(m[1])).slice(1);
  if (steady.length === 0) throw new Error(`${r.test} printed no ${r.what} rate:\n${stdout.slice(-2000)}`);
  return steady.reduce((a, b) => a + b, 0) / steady.length;
}
