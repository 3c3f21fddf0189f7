/**
 * `/allowedClients` → exact IPs and CIDRs. Dispatcher matches each rule's glob against the
 * client address as text (`*` crossing dots: `10.20.*` is every address starting "10.20.");
 * the last matching rule decides, no match denies. Here every IPv4 glob becomes the exact set
 * of addresses it matches (an automaton over the glob run octet by octet, so `10.20.1*` is
 * 10.20.1.0/24, 10.20.10.0/23, …), the rules are applied in order as set union and difference,
 * and the result is written as the fewest CIDR blocks. `${VAR}`s stay as they are (farmgate
 * substitutes them at load); IPv6 is carried for literal addresses and `*`.
 */
import { parseDispatcherGlob, type GlobToken } from './dglob.js';

type Range = readonly [number, number]; // inclusive, IPv4 as unsigned 32-bit

/** What a set of clients holds. */
export interface ClientSet {
  readonly v4: readonly Range[];
  /** Every IPv6 address. */
  readonly allV6: boolean;
  /** Literal IPv6 addresses (when not allV6). */
  readonly v6: readonly string[];
  /** `${VAR}` entries, as written. */
  readonly vars: readonly string[];
}

export const NO_CLIENTS: ClientSet = { v4: [], allV6: false, v6: [], vars: [] };
export const ALL_CLIENTS: ClientSet = { v4: [[0, 0xffffffff]], allV6: true, v6: [], vars: [] };

/** More CIDR blocks than this for one glob is not a list anyone can review: refused instead. */
const MAX_BLOCKS = 256;

/** The set a glob matches, or why it cannot be known exactly (a host name, a tangle of stars). */
export function clientGlobSet(glob: string): ClientSet | { readonly why: string } {
  if (/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(glob)) return { ...NO_CLIENTS, vars: [glob] };
  if (glob.includes('${')) return { why: 'it mixes a variable with other text' };
  // A host name never equals a client address; whether Dispatcher resolves it is not documented.
  if (/[g-zG-Z]/.test(glob)) return { why: 'Dispatcher compares it with the client\'s IP address as text, and it is not an IP glob (e.g. 10.0.0.* or 10.0.0.5)' };
  const parsed = parseDispatcherGlob(glob);
  if (!parsed.ok) return NO_CLIENTS;
  const tokens = parsed.tokens;
  if (tokens.length > 0 && tokens.every((t) => t.t === 'star')) return ALL_CLIENTS;
  if (glob.includes(':')) {
    return /^[0-9A-Fa-f:.]+$/.test(glob) && !/[*?[]/.test(glob)
      ? { ...NO_CLIENTS, v6: [glob.toLowerCase()] }
      : { why: 'an IPv6 pattern; only literal IPv6 addresses are carried' };
  }
  const v4 = ipv4Ranges(tokens);
  if (v4 === undefined || v4.reduce((n, [a, b]) => n + rangeToCidrs(a, b).length, 0) > MAX_BLOCKS) {
    return { why: `it matches addresses that take more than ${MAX_BLOCKS} CIDR blocks to list` };
  }
  return { ...NO_CLIENTS, v4 };
}

// ------------------------------------------------------------ a glob as an automaton

/** States are token indices; a star state loops. The epsilon closure skips stars. */
function closure(tokens: readonly GlobToken[], states: Iterable<number>): Set<number> {
  const out = new Set<number>();
  for (let s of states) {
    out.add(s);
    while (tokens[s]?.t === 'star') out.add(++s);
  }
  return out;
}

function step(tokens: readonly GlobToken[], states: Set<number>, c: string): Set<number> {
  const next: number[] = [];
  for (const s of states) {
    const t = tokens[s];
    if (!t) continue;
    if (t.t === 'star') next.push(s);
    else if (t.t === 'any') next.push(s + 1);
    else if (t.t === 'lit' && t.c === c) next.push(s + 1);
    else if (t.t === 'class') {
      const inside = t.chars.includes(c) || t.ranges.some(([a, b]) => a <= c && c <= b);
      if (inside !== t.neg) next.push(s + 1);
    }
  }
  return closure(tokens, next);
}

/** The IPv4 addresses (dotted decimal, no leading zeros) a glob matches, as sorted ranges; undefined when too scattered. */
function ipv4Ranges(tokens: readonly GlobToken[]): Range[] | undefined {
  const memo = new Map<string, Range[]>();
  const run = (states: Set<number>, s: string) => {
    let st = states;
    for (const c of s) {
      st = step(tokens, st, c);
      if (st.size === 0) break;
    }
    return st;
  };
  const from = (states: Set<number>, octet: number): Range[] => {
    const k = `${octet}:${[...states].sort((a, b) => a - b).join(',')}`;
    const hit = memo.get(k);
    if (hit) return hit;
    const span = 256 ** (3 - octet);
    const out: Range[] = [];
    for (let v = 0; v < 256; v++) {
      const st = run(states, octet < 3 ? `${v}.` : String(v));
      if (st.size === 0) continue;
      if (octet === 3) {
        if (st.has(tokens.length)) out.push([v, v]);
        continue;
      }
      for (const [a, b] of from(st, octet + 1)) out.push([v * span + a, v * span + b]);
    }
    const merged = mergeRanges(out);
    if (merged.length > MAX_BLOCKS) throw new TooScattered();
    memo.set(k, merged);
    return merged;
  };
  try {
    return from(closure(tokens, [0]), 0);
  } catch (err) {
    if (err instanceof TooScattered) return undefined;
    throw err;
  }
}

class TooScattered extends Error {}

// ------------------------------------------------------------ set algebra

function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  let out: Range[] = [...a];
  for (const [x, y] of b) {
    out = out.flatMap(([s, e]): Range[] => {
      if (y < s || x > e) return [[s, e]];
      const parts: Range[] = [];
      if (s < x) parts.push([s, x - 1]);
      if (y < e) parts.push([y + 1, e]);
      return parts;
    });
  }
  return out;
}

function intersectRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const [s, e] of a) for (const [x, y] of b) if (x <= e && s <= y) out.push([Math.max(s, x), Math.min(e, y)]);
  return mergeRanges(out);
}

export function union(a: ClientSet, b: ClientSet): ClientSet {
  const allV6 = a.allV6 || b.allV6;
  return {
    v4: mergeRanges([...a.v4, ...b.v4]),
    allV6,
    v6: allV6 ? [] : [...new Set([...a.v6, ...b.v6])],
    vars: [...new Set([...a.vars, ...b.vars])],
  };
}

/** `a` without `b`. A variable is removed by anything that may cover it (a deny of IPv4s). */
export function subtract(a: ClientSet, b: ClientSet): ClientSet {
  const coversVars = b.v4.length > 0 || b.allV6;
  return {
    v4: subtractRanges(a.v4, b.v4),
    allV6: a.allV6 && !b.allV6,
    v6: b.allV6 ? [] : a.v6.filter((x) => !b.v6.includes(x)),
    vars: coversVars ? [] : a.vars.filter((v) => !b.vars.includes(v)),
  };
}

/** Does a set hold every client, whatever a variable turns out to be? */
const everything = (s: ClientSet) => s.allV6 && s.v4.length === 1 && s.v4[0]![0] === 0 && s.v4[0]![1] === 0xffffffff;

/** What `a` holds beyond `b`, variables compared by name (for telling what was left out). */
export function beyond(a: ClientSet, b: ClientSet): ClientSet {
  return {
    v4: subtractRanges(a.v4, b.v4),
    allV6: a.allV6 && !b.allV6,
    v6: b.allV6 ? [] : a.v6.filter((x) => !b.v6.includes(x)),
    vars: a.vars.filter((v) => !b.vars.includes(v)),
  };
}

export function intersect(a: ClientSet, b: ClientSet): ClientSet {
  return {
    v4: intersectRanges(a.v4, b.v4),
    allV6: a.allV6 && b.allV6,
    v6: a.allV6 ? b.v6 : b.allV6 ? a.v6 : a.v6.filter((x) => b.v6.includes(x)),
    vars: [...new Set([...a.vars.filter((v) => b.vars.includes(v) || everything(b)), ...b.vars.filter((v) => everything(a))])],
  };
}

export const isEmptySet = (s: ClientSet) => s.v4.length === 0 && !s.allV6 && s.v6.length === 0 && s.vars.length === 0;

// ------------------------------------------------------------ output

const ip4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** The fewest CIDR blocks covering exactly a range. */
function rangeToCidrs(start: number, end: number): string[] {
  const out: string[] = [];
  let s = start;
  while (s <= end) {
    let size = 32;
    while (size > 0) {
      const block = 2 ** (32 - (size - 1));
      if (s % block !== 0 || s + block - 1 > end) break;
      size--;
    }
    out.push(size === 32 ? ip4(s) : `${ip4(s)}/${size}`);
    s += 2 ** (32 - size);
  }
  return out;
}

/** A client set as `flush.allowedClients` entries: variables, IPv4 blocks, IPv6. */
export function toAllowedClients(set: ClientSet): string[] {
  return [
    ...set.vars,
    ...set.v4.flatMap(([a, b]) => rangeToCidrs(a, b)),
    ...(set.allV6 ? ['::/0'] : set.v6),
  ];
}
