/**
 * A process whose event loop the loop watchdog watches, then holds (loop-watchdog.test.ts):
 * `fifo PATH` opens a FIFO for reading, which waits in the kernel until a writer opens it;
 * `busy MS` computes for MS ms; `idle MS` lets the loop turn for MS ms. Prints `holding` before
 * it holds the loop and `done` after; the watchdog's lines go to stdout, as the gateway's do.
 */
import { closeSync, openSync } from 'node:fs';
import { LoopWatchdog } from '../../src/util/loop-watchdog.ts';

const [mode, arg] = process.argv.slice(2);
new LoopWatchdog({ blockedMs: 1000, tickMs: 100, name: 'block-loop' }).start();
// Let the watchdog see the loop turn first.
await new Promise((r) => setTimeout(r, 500));
process.stdout.write('holding\n');
if (mode === 'fifo') {
  closeSync(openSync(arg!, 'r'));
} else if (mode === 'busy') {
  const end = performance.now() + Number(arg);
  while (performance.now() < end) Math.sqrt(Math.random());
} else {
  await new Promise((r) => setTimeout(r, Number(arg)));
}
process.stdout.write('done\n');
// The watchdog's thread keeps nothing alive: the process ends here.
