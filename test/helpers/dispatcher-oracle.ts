/**
 * A small evaluator of a parsed dispatcher.any with Dispatcher's semantics, written apart from
 * the importer (src/dispatcher-any/) so the two can be compared: the test oracle of the safety
 * invariant. It reads the tree directly and matches values itself:
 *
 * - double-quoted (or bare) values are Dispatcher globs: `*` any characters, `/` included;
 *   `?` one character; `[...]` a class (`!`/`^` negate, `a-z` ranges, the first member may be
 *   `]`); an unclosed `[` never matches; all else literal ("Design patterns for glob properties");
 * - single-quoted values are POSIX extended regexes matched against the whole value, run by the
 *   backtracking matcher below (bracket expressions with POSIX classes, a backslash literal
 *   inside them; `\w \W \s \S`; intervals);
 * - `${VAR}` is replaced from the environment before matching;
 * - rule lists: the last matching rule decides, no match denies; no `/filter` allows all;
 *   `/query` rules match only requests that have a query string; `/glob` matches the request
 *   line `METHOD URL[?QUERY] PROTOCOL` (spaces in the URL percent-encoded, as on the wire); a `/type` that is not "allow"/"deny" (unset variable,
 *   missing) is unknown, so a request it decides is "either".
 *
 * The request is decomposed as the contract says Dispatcher does (src/farms/sling-url.ts).
 */
import { blockOf, properties, prop, scalarOf, type Block, type Loc, type Property, type Scalar } from '../../src/dispatcher-any/ast.js';
import { decomposeSlingUrl } from '../../src/farms/sling-url.js';

export type Env = Readonly<Record<string, string | undefined>>;
export type Verdict = 'allow' | 'deny' | 'either';

export interface DRequest {
  readonly method: string;
  /** Decoded path, no query. */
  readonly url: string;
  readonly query: string | undefined;
  readonly protocol: string;
}

export interface Decision {
  readonly verdict: Verdict;
  /** The rule that decided; undefined when none matched (deny) or there is no filter. */
  readonly rule: Loc | undefined;
}

// ------------------------------------------------------------------ globs

export function globMatch(glob: string, value: string): boolean {
  const memo = new Map<string, boolean>();
  const m = (g: number, v: number): boolean => {
    const key = `${g},${v}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (g === glob.length) r = v === value.length;
    else {
      const c = glob[g]!;
      if (c === '*') r = m(g + 1, v) || (v < value.length && m(g, v + 1));
      else if (c === '?') r = v < value.length && m(g + 1, v + 1);
      else if (c === '[') {
        let j = g + 1;
        const neg = glob[j] === '!' || glob[j] === '^';
        if (neg) j++;
        const end = glob.indexOf(']', j + 1);
        if (end < 0) r = false;
        else {
          const body = glob.slice(j, end);
          let inside = false;
          const ch = value[v];
          if (ch !== undefined) {
            for (let k = 0; k < body.length; k++) {
              if (body[k + 1] === '-' && k + 2 < body.length) {
                if (body[k]! <= ch && ch <= body[k + 2]!) inside = true;
                k += 2;
              } else if (body[k] === ch) inside = true;
            }
          }
          r = ch !== undefined && inside !== neg && m(end + 1, v + 1);
        }
      } else r = v < value.length && value[v] === c && m(g + 1, v + 1);
    }
    memo.set(key, r);
    return r;
  };
  return m(0, 0);
}

// ------------------------------------------------------------------ POSIX ERE

type Node =
  | { k: 'alt'; alts: Node[][] }
  | { k: 'char'; test: (c: string) => boolean }
  | { k: 'bol' }
  | { k: 'eol' }
  | { k: 'rep'; node: Node; min: number; max: number };

const CLASSES: Record<string, (c: string) => boolean> = {
  alpha: (c) => /^[A-Za-z]$/.test(c),
  digit: (c) => /^[0-9]$/.test(c),
  alnum: (c) => /^[A-Za-z0-9]$/.test(c),
  upper: (c) => /^[A-Z]$/.test(c),
  lower: (c) => /^[a-z]$/.test(c),
  space: (c) => ' \t\n\r\f\v'.includes(c),
  blank: (c) => c === ' ' || c === '\t',
  punct: (c) => /^[!-/:-@[-`{-~]$/.test(c),
  print: (c) => c >= ' ' && c <= '~',
  graph: (c) => c > ' ' && c <= '~',
  cntrl: (c) => c < ' ' || c === '\x7f',
  xdigit: (c) => /^[0-9A-Fa-f]$/.test(c),
};

/** Parses a POSIX ERE; throws on what this oracle does not model. */
function parseEre(re: string): Node {
  let i = 0;
  const alt = (): Node => {
    const alts: Node[][] = [seq()];
    while (re[i] === '|') {
      i++;
      alts.push(seq());
    }
    return { k: 'alt', alts };
  };
  const seq = (): Node[] => {
    const out: Node[] = [];
    while (i < re.length && re[i] !== '|' && re[i] !== ')') {
      let n = atom();
      for (;;) {
        const c = re[i];
        if (c === '*') n = { k: 'rep', node: n, min: 0, max: Infinity };
        else if (c === '+') n = { k: 'rep', node: n, min: 1, max: Infinity };
        else if (c === '?') n = { k: 'rep', node: n, min: 0, max: 1 };
        else if (c === '{') {
          const m = /^\{(\d*)(,?)(\d*)\}/.exec(re.slice(i))!;
          const min = Number(m[1] || '0');
          const max = m[2] ? (m[3] ? Number(m[3]) : Infinity) : min;
          n = { k: 'rep', node: n, min, max };
          i += m[0].length - 1;
        } else break;
        i++;
      }
      out.push(n);
    }
    return out;
  };
  const atom = (): Node => {
    const c = re[i++]!;
    if (c === '(') {
      const n = alt();
      i++; // ')'
      return n;
    }
    if (c === '.') return { k: 'char', test: () => true };
    if (c === '^') return { k: 'bol' };
    if (c === '$') return { k: 'eol' };
    if (c === '\\') {
      const e = re[i++]!;
      if (e === 'w') return { k: 'char', test: (x) => /^[A-Za-z0-9_]$/.test(x) };
      if (e === 'W') return { k: 'char', test: (x) => !/^[A-Za-z0-9_]$/.test(x) };
      if (e === 's') return { k: 'char', test: (x) => ' \t\n\r\f\v'.includes(x) };
      if (e === 'S') return { k: 'char', test: (x) => !' \t\n\r\f\v'.includes(x) };
      // Libraries disagree on `\d` (a digit in PCRE, a plain "d" in GNU ERE); the importer refuses
      // it either way, so the oracle may pick one reading.
      if (e === 'd') return { k: 'char', test: (x) => /^[0-9]$/.test(x) };
      if (/[A-Za-z0-9]/.test(e)) throw new Error(`oracle: \\${e} not modelled`);
      return { k: 'char', test: (x) => x === e };
    }
    if (c === '[') {
      const neg = re[i] === '^';
      if (neg) i++;
      const tests: ((x: string) => boolean)[] = [];
      let first = true;
      while (re[i] !== ']' || first) {
        first = false;
        if (re[i] === '[' && re[i + 1] === ':') {
          const end = re.indexOf(':]', i);
          tests.push(CLASSES[re.slice(i + 2, end)]!);
          i = end + 2;
          continue;
        }
        const a = re[i++]!;
        if (re[i] === '-' && re[i + 1] !== ']' && re[i + 1] !== undefined) {
          const b = re[i + 1]!;
          tests.push((x) => a <= x && x <= b);
          i += 2;
        } else tests.push((x) => x === a);
      }
      i++;
      return { k: 'char', test: (x) => tests.some((t) => t(x)) !== neg };
    }
    return { k: 'char', test: (x) => x === c };
  };
  const n = alt();
  if (i !== re.length) throw new Error(`oracle: cannot parse ${re}`);
  return n;
}

/** Whole-value match by backtracking with continuations. */
export function ereMatch(re: string, value: string): boolean {
  const root = parseEre(re);
  const run = (n: Node, pos: number, k: (p: number) => boolean): boolean => {
    switch (n.k) {
      case 'char':
        return pos < value.length && n.test(value[pos]!) && k(pos + 1);
      case 'bol':
        return pos === 0 && k(pos);
      case 'eol':
        return pos === value.length && k(pos);
      case 'alt':
        return n.alts.some((s) => runSeq(s, 0, pos, k));
      case 'rep': {
        const go = (count: number, p: number): boolean => {
          if (count >= n.min && k(p)) return true;
          if (count >= n.max) return false;
          // An empty iteration helps only while the minimum is not reached yet.
          return run(n.node, p, (q) => (q === p && count >= n.min ? false : go(count + 1, q)));
        };
        return go(0, pos);
      }
    }
  };
  const runSeq = (s: Node[], idx: number, pos: number, k: (p: number) => boolean): boolean =>
    idx === s.length ? k(pos) : run(s[idx]!, pos, (p) => runSeq(s, idx + 1, p, k));
  return run(root, 0, (p) => p === value.length);
}

// ------------------------------------------------------------------ values and rules

const sub = (text: string, env: Env) => text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, n: string) => env[n] ?? '');

export function valueMatches(s: Scalar, value: string, env: Env): boolean {
  const text = sub(s.text, env);
  return s.quote === "'" ? ereMatch(text, value) : globMatch(text, value);
}

function typeOf(rule: Block, env: Env): Verdict {
  const t = scalarOf(rule, 'type');
  if (!t) return 'either';
  if (/\$\{/.test(t.text) && /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.test(t.text)) {
    const names = [...t.text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!);
    if (names.some((n) => env[n] === undefined)) return 'either';
  }
  const v = sub(t.text, env).trim().toLowerCase();
  return v === 'allow' || v === 'deny' ? v : 'either';
}

function filterRuleMatches(rule: Block, req: DRequest, env: Env): boolean {
  const sling = decomposeSlingUrl(req.url);
  for (const p of properties(rule)) {
    if (p.name === 'type') continue;
    const v = p.value as Scalar;
    const ok = (value: string) => valueMatches(v, value, env);
    switch (p.name) {
      case 'method':
        if (!ok(req.method)) return false;
        break;
      case 'url':
        if (!ok(req.url)) return false;
        break;
      case 'path':
      case 'selectors':
      case 'extension':
      case 'suffix':
        if (!ok(sling[p.name])) return false;
        break;
      case 'query':
        if (req.query === undefined || !ok(req.query)) return false;
        break;
      case 'protocol':
        if (!ok(req.protocol)) return false;
        break;
      case 'glob':
        // The request line as on the wire: no space inside the URL.
        if (!ok(`${req.method} ${req.url.replace(/ /g, '%20')}${req.query === undefined ? '' : '?' + req.query} ${req.protocol}`)) return false;
        break;
      default:
        throw new Error(`oracle: filter key /${p.name} not modelled`);
    }
  }
  return true;
}

/** A farm's filter verdict for a request. */
export function evalFilter(farm: Block, req: DRequest, env: Env): Decision {
  const filter = blockOf(farm, 'filter');
  if (!filter) return { verdict: 'allow', rule: undefined };
  const rules = properties(filter).filter((p): p is Property & { value: Block } => p.value.kind === 'block');
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i]!;
    if (filterRuleMatches(r.value, req, env)) return { verdict: typeOf(r.value, env), rule: r.loc };
  }
  return { verdict: 'deny', rule: undefined };
}

/** A `/glob` rule list (`/rules`, `/invalidate`, `/ignoreUrlParams`, `/allowedClients`). */
export function evalGlobList(list: Block, value: string, env: Env): Decision {
  const rules = properties(list).filter((p): p is Property & { value: Block } => p.value.kind === 'block' && scalarOf(p.value, 'glob') !== undefined);
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i]!;
    if (valueMatches(scalarOf(r.value, 'glob')!, value, env)) return { verdict: typeOf(r.value, env), rule: r.loc };
  }
  return { verdict: 'deny', rule: undefined };
}

/** The farms of a tree, in file order, by name. */
export function dispatcherFarms(root: Block): { name: string; block: Block; loc: Loc }[] {
  const farms = blockOf(root, 'farms') ?? root;
  return properties(farms)
    .filter((p) => p.value.kind === 'block' && ['virtualhosts', 'renders', 'cache', 'filter'].some((k) => prop(p.value as Block, k)))
    .map((p) => ({ name: p.name, block: p.value as Block, loc: p.loc }));
}
