/** A promise and the function that resolves it: one step of a test waiting for another. */
export function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => {
    fire = r;
  });
  return { promise, fire };
}

/**
 * Holds the next call of `target[name]` until `release` (`reached` once it is made), then lets
 * it run as it would have; later calls run at once.
 */
export function holdNextCall<T extends object>(
  target: T,
  name: keyof T & string,
): { reached: Promise<void>; release: () => void } {
  const record = target as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = record[name]!;
  const [reached, released] = [signal(), signal()];
  record[name] = async (...args: unknown[]) => {
    record[name] = original;
    reached.fire();
    await released.promise;
    return original.apply(target, args);
  };
  return { reached: reached.promise, release: released.fire };
}
