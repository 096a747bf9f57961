/**
 * Synchronous clean-up actions run once when the test process ends: on normal exit, on
 * process.exit() (node --test-force-exit), and on SIGINT/SIGTERM/SIGHUP.
 */
type Cleanup = () => void;

const actions = new Set<Cleanup>();
let installed = false;
let ran = false;

function runAll(): void {
  if (ran) return;
  ran = true;
  for (const action of [...actions].reverse()) {
    try {
      action();
    } catch {
      // Clean-up is best effort: one failure must not keep the others from running.
    }
  }
  actions.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runAll();
      // When ours is the only listener, keep the default meaning of the signal: exit.
      if (process.listenerCount(signal) <= 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** Register a synchronous action; returns a function that unregisters it. */
export function onExit(action: Cleanup): () => void {
  install();
  actions.add(action);
  return () => {
    actions.delete(action);
  };
}
