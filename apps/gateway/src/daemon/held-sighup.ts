/**
 * SIGHUP from the first moment of `./cfs gateway start`. Its default action ends the process,
 * and loading the gateway's modules takes about a second: a `systemctl reload` (or a config
 * tool's handler) sent right after the start would have killed it. cli/hold-sighup.mjs holds it
 * (`./cfs` preloads it before anything else loads; imported here for a gateway started another
 * way); a SIGHUP that arrives before the gateway can reload is kept and delivered once it can.
 */
import '../cli/hold-sighup.mjs';

interface Held {
  target: (() => void) | undefined;
  missed: boolean;
}

const HELD = Symbol.for('claudefs.heldSighup');

export class HeldSighup {
  private readonly held: Held;

  constructor() {
    const held = (globalThis as Record<symbol, Held | undefined>)[HELD];
    if (!held) throw new Error('SIGHUP is held only for `gateway start` (cli/hold-sighup.mjs)');
    this.held = held;
  }

  /** Routes SIGHUP to `handler` from now on, calling it at once if one arrived before. */
  deliverTo(handler: () => void): void {
    this.held.target = handler;
    if (this.held.missed) {
      this.held.missed = false;
      handler();
    }
  }
}
