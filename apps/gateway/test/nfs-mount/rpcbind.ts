import net from 'node:net';
import { type ProcessHandle, spawnProcess } from '../support/proc.ts';
import { mustToolPath } from '../support/tools.ts';

function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Rpcbind {
  /** True when this test started it (and stop() stops it); false when one was running already. */
  started: boolean;
  stop(): Promise<void>;
}

/**
 * An rpcbind on 127.0.0.1:111 for the test: the running one if there is one (only one can
 * own port 111), else `rpcbind -f -w` started here and stopped by its PID afterwards.
 */
export async function ensureRpcbind(): Promise<Rpcbind> {
  if (await portOpen(111)) return { started: false, stop: async () => {} };
  const handle: ProcessHandle = spawnProcess(mustToolPath('rpcbind'), ['-f', '-w'], { name: 'rpcbind' });
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(111))) {
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`rpcbind did not listen on port 111: ${handle.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    started: true,
    stop: async () => {
      await handle.stop();
    },
  };
}
