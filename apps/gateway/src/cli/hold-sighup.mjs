// Preloaded by ./cfs (`node --import`) before anything else loads: for `gateway start`, SIGHUP
// is held from the process's first moment instead of ending it (its default action), since
// loading the gateway takes a second or so. daemon/held-sighup.ts takes it over and delivers
// what was held once the gateway can reload; it imports this module too, so a gateway started
// without ./cfs holds it as well (from then on). Plain JavaScript: it runs before tsx.
const KEY = Symbol.for('claudefs.heldSighup');
const args = process.argv.slice(2);
const at = args.indexOf('gateway');
if (at >= 0 && args[at + 1] === 'start' && !globalThis[KEY]) {
  const held = { target: undefined, missed: false };
  process.on('SIGHUP', () => {
    if (held.target) held.target();
    else held.missed = true;
  });
  globalThis[KEY] = held;
}
