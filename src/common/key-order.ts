/**
 * JavaScript objects list integer-like keys (`"2"`) first, whatever order the client wrote them
 * in; where that order is meaningful (a send's `limits` are evaluated in the order given, SPEC
 * §5), the parsers keep the written order of such objects under this symbol.
 */
const KEY_ORDER = Symbol('keyOrder');

type Ordered = Record<string, unknown> & { [KEY_ORDER]?: string[] };

const INTEGER_LIKE = /^(0|[1-9]\d*)$/;
/** A cheap test of a JSON text for such a key before anything is walked. */
const INTEGER_LIKE_KEY = /"(0|[1-9]\d*)"\s*:/;

/** The keys of an object in the order the client wrote them. */
export function keysInOrder(object: object): string[] {
  return (object as Ordered)[KEY_ORDER] ?? Object.keys(object);
}

export function keepKeyOrder(object: object, keys: string[]): void {
  Object.defineProperty(object, KEY_ORDER, { value: keys, enumerable: false });
}

/** Whether an object's own key order can differ from the written one. */
export function hasIntegerLikeKey(object: object): boolean {
  return Object.keys(object).some((key) => INTEGER_LIKE.test(key));
}

/**
 * Records the written key order of every object in a JSON value whose order JavaScript changed,
 * from the text it was parsed from. Objects are met in the text in the same order as a walk
 * through the value that visits each object's members in written order. Nothing is recorded when
 * the text repeats a key within an object or holds a `__proto__` key (the parsed value then no
 * longer mirrors the text).
 */
export function keepJsonKeyOrder(text: string, value: unknown): void {
  if (!INTEGER_LIKE_KEY.test(text)) return;
  const written = writtenKeys(text);
  if (written.some((keys) => new Set(keys).size !== keys.length || keys.includes('__proto__'))) return;
  let next = 0;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const keys = written[next++] ?? Object.keys(node);
    if (hasIntegerLikeKey(node)) keepKeyOrder(node, keys);
    for (const key of keys) walk((node as Record<string, unknown>)[key]);
  };
  walk(value);
}

/** The keys of each object of a JSON text, objects in the order their `{` appears. */
function writtenKeys(text: string): string[][] {
  const objects: string[][] = [];
  const open: (string[] | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = open[open.length - 1];
      if (expectKey && top) top.push(JSON.parse(text.slice(i, end + 1)) as string);
      expectKey = false;
      i = end;
    } else if (c === '{') {
      const keys: string[] = [];
      objects.push(keys);
      open.push(keys);
      expectKey = true;
    } else if (c === '[') {
      open.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectKey = open[open.length - 1] !== null && open.length > 0;
    }
  }
  return objects;
}
