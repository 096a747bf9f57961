import { TYPE_CODES } from '../sqlite/schema.ts';

const NAMES = new Map<bigint, string>(Object.entries(TYPE_CODES).map(([name, code]) => [BigInt(code), name]));

export const DIR = BigInt(TYPE_CODES.dir);
export const FILE = BigInt(TYPE_CODES.file);

/** The type's name, or "type N" for a code the schema does not define. */
export function typeName(code: bigint): string {
  return NAMES.get(code) ?? `type ${code}`;
}

export function isKnownType(code: bigint): boolean {
  return NAMES.has(code);
}
