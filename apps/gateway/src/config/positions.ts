import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node, type Pair } from 'yaml';
import type { KeyPath } from './problems.ts';

export interface Position {
  line: number;
  col: number;
}

const START: Position = { line: 1, col: 1 };

function keyName(pair: Pair): string | undefined {
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : undefined;
}

/** Maps key paths (`nfs.exports.0.path`) to where they are written in one YAML document. */
export class KeyPathLocator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private at(node: Node | Pair | null | undefined): Position | undefined {
    const target = isPair(node) ? node.key : node;
    const offset = (target as Node | null | undefined)?.range?.[0];
    return offset === undefined ? undefined : this.lines.linePos(offset);
  }

  /**
   * `at: 'key'` gives the key's own position; `at: 'value'` the value's. When the path runs
   * out before its end (a missing key) the answer is the innermost key that does exist, so
   * "missing required key" points at the map it belongs in.
   */
  locate(path: KeyPath, at: 'key' | 'value'): Position {
    let node: unknown = this.doc.contents;
    let nearest: Position = this.at(this.doc.contents) ?? START;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => keyName(p) === String(segment));
        if (pair === undefined) return nearest;
        const keyPos = this.at(pair.key as Node) ?? nearest;
        if (last && at === 'key') return keyPos;
        nearest = keyPos;
        node = pair.value;
        if (last) return this.at(node as Node | null) ?? keyPos;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) return nearest;
        nearest = this.at(item as Node) ?? nearest;
        node = item;
        if (last) return nearest;
      } else {
        return nearest;
      }
    }
    return nearest;
  }
}
