import type { CircuitBreaker } from './circuit-breaker.ts';

/** Members that must work even with the circuit open (shutdown, naming, cache invalidation). */
const UNGUARDED = new Set<PropertyKey>(['close', 'pathOf', 'constructor', 'invalidate']);

/**
 * The same object with every method call going through the breaker: refused at once while
 * open, backend errors counted and turned into namespace errors (EIO, ENOSPC, EROFS).
 * For the metadata store, whose calls answer synchronously (SQLite) or with a promise (PostgreSQL).
 */
export function guardMeta<T extends object>(target: T, breaker: CircuitBreaker): T {
  return wrap(target, (fn) => breaker.runEither(fn));
}

export function guardAsync<T extends object>(target: T, breaker: CircuitBreaker): T {
  return wrap(target, (fn) => breaker.run(fn as () => Promise<unknown>));
}

function wrap<T extends object>(target: T, run: (fn: () => unknown) => unknown): T {
  // Per member: the function last seen there and what it was wrapped into (a method replaced
  // on the target, as a test's hook does, is wrapped afresh).
  const cache = new Map<PropertyKey, { value: unknown; wrapped: unknown }>();
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      const hit = cache.get(prop);
      if (hit?.value === value) return hit.wrapped;
      let wrapped: unknown;
      if (prop === 'constructor') wrapped = value;
      // Bound to the target: what it calls on `this` is not refused by an open circuit.
      else if (UNGUARDED.has(prop)) wrapped = value.bind(t);
      else
        wrapped = (...args: unknown[]) => run(() => (value as (...a: unknown[]) => unknown).apply(t, args));
      cache.set(prop, { value, wrapped });
      return wrapped;
    },
  });
}
