/*
 * What every store can hold. An event is written once and then applied by every
 * projection on every backend: Kafka and Redis keep any bytes, but PostgreSQL's
 * text and jsonb refuse NUL (0x00), and a lone UTF-16 surrogate has no UTF-8 form
 * at all (pg and ioredis silently turn it into U+FFFD, jsonb refuses its escape).
 * One such character in a meetingID once stopped every projection of a cluster,
 * so the write side refuses them and the read side replaces them.
 */

/** NUL, or a surrogate that is not half of a pair. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** The largest integer a PostgreSQL `integer` column takes: counts and sizes are bounded by it. */
export const MAX_INT4 = 2_147_483_647;

export const isStorableText = (text: string): boolean => !UNSTORABLE.test(text);

/** What the character is, for an error message. */
export function describeUnstorable(text: string): string | null {
  const m = UNSTORABLE.exec(text);
  if (!m) return null;
  return m[0] === '\u0000' ? 'a NUL character' : 'a lone UTF-16 surrogate (not valid Unicode text)';
}

/**
 * Where in a value (an event, a request body) the first string or key lies that no
 * store can hold, as a dotted path (itself made printable), with what is wrong as a
 * phrase ("holds a NUL character"); null when every string is storable.
 */
export function findUnstorable(value: unknown, path = ''): { path: string; problem: string } | null {
  if (typeof value === 'string') {
    const problem = describeUnstorable(value);
    return problem ? { path: path || '(value)', problem: `holds ${problem}` } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorable(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const at = path ? `${path}.${sanitizeStrings(k)}` : sanitizeStrings(k);
      const problem = describeUnstorable(k);
      if (problem) return { path: at, problem: `has a name holding ${problem}` };
      const found = findUnstorable(v, at);
      if (found) return found;
    }
  }
  return null;
}

/** The same value with every unstorable character replaced by U+FFFD (what pg would have made of a surrogate). */
export function sanitizeStrings<T>(value: T): T {
  if (typeof value === 'string') return (UNSTORABLE.test(value) ? value.replace(UNSTORABLE_ALL, '\uFFFD') : value) as T;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const s = sanitizeStrings(v);
      if (s !== v) changed = true;
      return s;
    });
    return (changed ? out : value) as T;
  }
  if (value && typeof value === 'object') {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const key = sanitizeStrings(k);
      const s = sanitizeStrings(v);
      if (key !== k || s !== v) changed = true;
      out[key] = s;
    }
    return (changed ? out : value) as T;
  }
  return value;
}
