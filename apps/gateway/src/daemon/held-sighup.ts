/**
 * SIGHUP from the first moment of `./cfs gateway start`. Its default action ends the process,
 * and loading the gateway's modules takes about a second: a `systemctl reload` (or a config
 * tool's handler) sent right after the start would have killed it. `./cfs` preloads
 * cli/hold-sighup.mjs, which holds SIGHUP before anything else loads; without it (the gateway
 * started another way) this holds it from its own construction. A SIGHUP that arrives before
 * the gateway can reload is kept and delivered once it can.
 */
interface Held {
  target: (() => void) | undefined;
  missed: boolean;
}

const PRELOADED = Symbol.for('claudefs.heldSighup');

export class HeldSighup {
  private readonly held: Held;

  constructor() {
    const preloaded = (globalThis as Record<symbol, Held | undefined>)[PRELOADED];
    if (preloaded) {
      this.held = preloaded;
      return;
    }
    const held: Held = { target: undefined, missed: false };
    process.on('SIGHUP', () => {
      if (held.target) held.target();
      else held.missed = true;
    });
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
