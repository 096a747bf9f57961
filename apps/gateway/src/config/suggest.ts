/** The known key an unknown one was probably meant to be, for "did you mean" hints. */
export function closestKey(unknown: string, known: readonly string[]): string | undefined {
  const wanted = unknown.toLowerCase().replaceAll('-', '_');
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = editDistance(wanted, key.toLowerCase());
    if (distance < (best?.distance ?? Number.POSITIVE_INFINITY)) best = { key, distance };
  }
  if (best === undefined) return undefined;
  const tolerance = Math.max(1, Math.min(3, Math.floor(best.key.length / 3)));
  return best.distance <= tolerance ? best.key : undefined;
}

/** Damerau–Levenshtein (optimal string alignment): a swapped pair of letters counts once. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, at(i - 2, j - 2) + 1);
      const row = rows[i];
      if (row) row[j] = d;
    }
  }
  return at(a.length, b.length);
}
