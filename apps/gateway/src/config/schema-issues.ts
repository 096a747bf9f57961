import type { z } from 'zod';
import type { Finding, KeyPath } from './problems.ts';
import { describeValue } from './schema.ts';
import { closestKey } from './suggest.ts';

/** zod's own wording is for programmers; these are the words an operator reads. */

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

function plural(n: number | bigint, one: string, many: string): string {
  return `${n} ${n === 1 || n === 1n ? one : many}`;
}

function messageFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      return `expected ${expected}, got ${describeValue(issue.input)}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}; got ${describeValue(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${plural(issue.minimum, 'entry', 'entries')}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${issue.minimum}, got ${describeValue(issue.input)}`;
    case 'too_big':
      if (issue.origin === 'array') return `takes at most ${plural(issue.maximum, 'entry', 'entries')}`;
      return `must be at most ${issue.maximum}, got ${describeValue(issue.input)}`;
    default:
      return issue.message;
  }
}

interface DefView {
  type: string;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
}

function defOf(schema: z.core.$ZodType): DefView {
  return schema._zod.def as DefView;
}

/** The strict object a key path leads to, looking through defaults, preprocessing and lists. */
function objectAt(schema: z.core.$ZodType | undefined, path: KeyPath): DefView | undefined {
  if (schema === undefined) return undefined;
  const def = defOf(schema);
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
      return objectAt(def.innerType, path);
    case 'pipe':
      return objectAt(def.out, path) ?? objectAt(def.in, path);
    case 'array':
      return path.length === 0 ? undefined : objectAt(def.element, path.slice(1));
    case 'object':
      return path.length === 0 ? def : objectAt(def.shape?.[String(path[0])], path.slice(1));
    default:
      return undefined;
  }
}

function unknownKeyMessage(schema: z.core.$ZodType, parent: KeyPath, key: string): string {
  const known = Object.keys(objectAt(schema, parent)?.shape ?? {});
  const guess = closestKey(key, known);
  return guess === undefined ? `unknown key '${key}'` : `unknown key '${key}' (did you mean '${guess}'?)`;
}

function toKeyPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((k) => (typeof k === 'number' ? k : String(k)));
}

/** Every issue zod found, one finding per unknown key, each pointing where the fix goes. */
export function findingsFromIssues(schema: z.core.$ZodType, issues: readonly z.core.$ZodIssue[]): Finding[] {
  const findings: Finding[] = [];
  for (const issue of issues) {
    const path = toKeyPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const message = unknownKeyMessage(schema, path, key);
        findings.push({ path: [...path, key], message, severity: 'error', at: 'key' });
      }
    } else if (issue.code === 'invalid_type' && issue.input === undefined && path.length > 0) {
      const message = `missing required key '${path[path.length - 1]}'`;
      findings.push({ path, message, severity: 'error', at: 'value' });
    } else if (issue.code === 'invalid_type' && path.length === 0) {
      const message = `the configuration must be a mapping of keys (node:, nfs:, s3: …), got ${describeValue(issue.input)}`;
      findings.push({ path, message, severity: 'error', at: 'value' });
    } else {
      findings.push({ path, message: messageFor(issue), severity: 'error', at: 'value' });
    }
  }
  return findings;
}
