export type Align = 'left' | 'right';

/**
 * Pads each column to its widest cell, as `ls -l` does; cells are joined by one space and
 * the last column is never padded.
 */
export function alignColumns(rows: readonly (readonly string[])[], align: readonly Align[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => {
        if (i === row.length - 1) return cell;
        const width = widths[i] ?? 0;
        return (align[i] ?? 'left') === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join(' '),
  );
}
