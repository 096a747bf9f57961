/** A statement's raw row (its columns' values, in order) as a plain object keyed by column. */
export type RowBuilder = (values: unknown[]) => Record<string, unknown>;

/**
 * Rows as plain objects, built from better-sqlite3's raw arrays by one object literal of the
 * statement's columns. better-sqlite3 makes each row object key by key through V8's API: an
 * inode row (19 columns) cost 3.6 µs that way, 1.8 µs read raw and built here, which every
 * getattr, listing entry and create pays once or more. A later column of the same name wins,
 * as it does in better-sqlite3's own objects.
 */
export function rowBuilder(columns: readonly string[]): RowBuilder {
  // In a literal that name would set the object's prototype, not a field.
  if (columns.includes('__proto__')) throw new Error('a statement answers a column named __proto__');
  // The names are our statements' own columns (meta/statements.ts), written as JSON strings.
  const fields = columns.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(', ');
  return new Function('v', `return { ${fields} };`) as RowBuilder;
}
