/**
 * The vocabulary of a dispatcher.any, for building the requests the safety check sends: every
 * literal fragment its rule values hold, and its url/path/glob patterns, instantiated into
 * concrete values near their edges (a wildcard matching nothing, one character, a few segments).
 */
import type { Block, Scalar } from '../../src/dispatcher-any/ast.js';

export interface Pattern {
  readonly s: Scalar;
  /** A filter `/glob`: the whole request line. */
  readonly line: boolean;
}

/**
 * A tree's vocabulary: every literal fragment its rule values hold, and its url/path/glob
 * patterns (instantiated by `instantiate` into values near their edges).
 */
export function vocabulary(root: Block): { fragments: string[]; ips: string[]; patterns: Pattern[] } {
  const fragments = new Set<string>();
  const ips = new Set<string>();
  const patterns: Pattern[] = [];
  const walk = (b: Block, under: string) => {
    for (const item of b.items) {
      if (item.kind === 'scalar') continue;
      if (item.value.kind === 'block') walk(item.value, item.name);
      else {
        const text = item.value.text;
        if (under === 'allowedClients' || (item.name === 'glob' && /^[\d.*]+$/.test(text))) ips.add(text);
        else if (item.name === 'glob' && under !== 'rules' && under !== 'invalidate' && / /.test(text)) patterns.push({ s: item.value, line: true });
        else if (['url', 'path', 'glob'].includes(item.name) && /^[/*]/.test(text)) patterns.push({ s: item.value, line: false });
        for (const m of text.matchAll(/[A-Za-z0-9_:/.=-]+/g)) fragments.add(m[0]);
      }
    }
  };
  walk(root, '');
  return { fragments: [...fragments], ips: [...ips], patterns };
}

/**
 * A concrete value near a pattern's edges: each wildcard replaced by a pick (`*` by nothing,
 * one character or a few segments; `?` by one character or none; a class by a member or not;
 * a regex alternative, repetition or `.` likewise). `picks` drives the choices.
 */
export function instantiate(s: Scalar, picks: readonly number[]): string {
  let k = 0;
  const pick = <T>(options: readonly T[]): T => options[(picks[k++ % Math.max(picks.length, 1)] ?? 0) % options.length]!;
  const t = s.text;
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (s.quote !== "'") {
      if (c === '*') out += pick(['', 'x', 'a/b', '.html', '/']);
      else if (c === '?') out += pick(['x', '', '_', '.']);
      else if (c === '[') {
        const end = t.indexOf(']', i + 2);
        if (end < 0) {
          out += c;
          continue;
        }
        out += pick([t[i + 1] === '!' || t[i + 1] === '^' ? 'z' : t[i + 1]!, 'z', '.']);
        i = end;
      } else out += c;
      continue;
    }
    // A rough regex walk: enough to land near the edges, not a generator of the language.
    if (c === '\\') out += t[++i] ?? '';
    else if (c === '.') out += t[i + 1] === '*' || t[i + 1] === '+' ? (i++, pick(['', 'x', 'a/b'])) : pick(['x', '.', '/']);
    else if (c === '[') {
      const end = t.indexOf(']', i + 2);
      out += pick([t[i + 1] === '^' ? 'z' : t[i + 1]!, '5', '-', 'z']);
      i = end < 0 ? t.length : end;
      if (t[i + 1] === '+' || t[i + 1] === '*') i++;
    } else if (c === '(' || c === ')' || c === '^' || c === '$') continue;
    else if (c === '|') {
      const close = t.indexOf(')', i);
      if (pick([true, false])) i = close < 0 ? t.length : close;
      else out = out.slice(0, Math.max(0, out.lastIndexOf('(')));
    } else if (c === '?' || c === '*') out = pick([true, false]) ? out : out.slice(0, -1);
    else if (c === '+') out += pick(['', out.slice(-1)]);
    else out += c;
  }
  return out;
}
