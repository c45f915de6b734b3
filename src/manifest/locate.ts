import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** Finds the line of a key path in a parsed YAML document (the deepest part of it that exists). */
export function lineOf(doc: Document, lines: LineCounter, path: readonly (string | number)[], atKey = false): number | undefined {
  let cur: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isMap(cur)) {
      const pair = cur.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) {
        break;
      }
      const last = i === path.length - 1;
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      found = (last && atKey) || !valueNode?.range ? (keyNode ?? found) : valueNode;
      cur = pair.value;
    } else if (isSeq(cur) && typeof seg === 'number' && cur.items[seg]) {
      cur = cur.items[seg];
      found = cur as Node;
    } else {
      break;
    }
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/** Whether the document has a value at this path (used to pick overlay or base for a line). */
export function hasPath(doc: Document, path: readonly (string | number)[]): boolean {
  let cur: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) return false;
      cur = pair.value;
    } else if (isSeq(cur) && typeof seg === 'number') {
      cur = cur.items[seg];
      if (cur === undefined) return false;
    } else return false;
  }
  return true;
}
