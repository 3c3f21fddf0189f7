/**
 * Dispatcher's single-quoted values are POSIX extended regular expressions (Dispatcher 4.2+,
 * "Configure Dispatcher": `/extension '(css|gif|ico|js|png|swf|jpe?g)'`), matched against the
 * whole value. This translates one into the JavaScript/PCRE subset farmgate accepts
 * (src/config/regex-subset.ts), construct by construct, so both match exactly the same values:
 *
 * - bracket expressions follow POSIX: a backslash inside is a plain backslash, `]` first is a
 *   member, `[:digit:]`-style classes become their ASCII sets (the C locale);
 * - `\w \W \s \S` (GNU) become classes; a backslash before punctuation makes it literal;
 * - `{m}`, `{m,}`, `{m,n}` and GNU's `{,n}` are intervals; a quantifier on a quantified atom
 *   (`a**`, legal in ERE) is grouped first;
 * - leftmost-longest (POSIX) and leftmost-first (JavaScript) matching find the same whole-value
 *   matches, so acceptance is unchanged.
 *
 * Refused, with the reason (the importer then narrows an allow or widens a deny): other
 * backslash-letter escapes (`\d` is a plain `d` in GNU ERE but a digit elsewhere), word
 * boundaries, back-references, `[.x.]` and `[=x=]`, a quantifier with nothing to repeat.
 *
 * The result also says when the regex is a plain list of literal alternatives
 * (`(css|js)`, `()`), which the importer writes as a glob list.
 */
import { classRegex, escapeRegexChar } from './dglob.js';

type Atom =
  | { readonly k: 'lit'; readonly c: string }
  | { readonly k: 'any' }
  | { readonly k: 'class'; readonly src: string }
  | { readonly k: 'group'; readonly alts: Seq[] }
  | { readonly k: 'anchor'; readonly c: '^' | '$' }
  | { readonly k: 'var'; readonly text: string };
interface Piece {
  readonly atom: Atom;
  readonly quant: string;
}
type Seq = Piece[];

export type Translated =
  | {
      readonly ok: true;
      /** The JavaScript/PCRE body, to be matched against the whole value. */
      readonly source: string;
      /** The top-level alternatives, each as its own body and, when it is one, its literal text. */
      readonly alternatives: readonly { readonly source: string; readonly literal: string | undefined }[];
    }
  | { readonly ok: false; readonly why: string };

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: '0-9A-Za-z',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\x0B',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1F\\x7F',
  xdigit: '0-9A-Fa-f',
};

const GNU_ESCAPES: Record<string, string> = {
  w: '[A-Za-z0-9_]',
  W: '[^A-Za-z0-9_]',
  s: '[ \\t\\n\\r\\f\\x0B]',
  S: '[^ \\t\\n\\r\\f\\x0B]',
};

class Refused extends Error {}

/** Translates a POSIX ERE (Dispatcher single-quoted value) to an exact farmgate regex body. */
export function translatePosixRegex(regex: string): Translated {
  let i = 0;
  const fail = (why: string): never => {
    throw new Refused(why);
  };

  function parseAlts(): Seq[] {
    const alts: Seq[] = [parseSeq()];
    while (regex[i] === '|') {
      i++;
      alts.push(parseSeq());
    }
    return alts;
  }

  function parseSeq(): Seq {
    const seq: Seq = [];
    while (i < regex.length && regex[i] !== '|' && regex[i] !== ')') {
      let atom = parseAtom();
      let quant = quantifierAt() ?? '';
      if (quant && atom.k === 'anchor') fail(`"${atom.c}${quant}": a quantifier on an anchor`);
      // `a**` is legal in ERE: repeat the repeated atom.
      for (let q = quantifierAt(); q; q = quantifierAt()) {
        atom = { k: 'group', alts: [[{ atom, quant }]] };
        quant = q;
      }
      seq.push({ atom, quant });
    }
    return seq;
  }

  function quantifierAt(): string | undefined {
    const c = regex[i];
    if (c === '*' || c === '+' || c === '?') {
      i++;
      return c;
    }
    if (c === '{') {
      const m = /^\{(\d*)(,?)(\d*)\}/.exec(regex.slice(i));
      if (!m || (m[1] === '' && m[2] === '')) fail(`"{" at offset ${i} does not start an interval {m}, {m,} or {m,n}`);
      const [whole, min, comma, max] = m!;
      if (max !== '' && Number(max) < Number(min || '0')) fail(`interval ${whole} has its bounds the wrong way round`);
      if (Number(min || '0') > 1000 || Number(max || '0') > 1000) fail(`interval ${whole} is too large`);
      i += whole.length;
      return `{${min || '0'}${comma}${max}}`;
    }
    return undefined;
  }

  function parseAtom(): Atom {
    const c = regex[i]!;
    if (c === '$' && regex[i + 1] === '{') {
      const m = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}/.exec(regex.slice(i));
      if (m) {
        i += m[0].length;
        return { k: 'var', text: m[0] };
      }
    }
    i++;
    switch (c) {
      case '(': {
        if (regex[i] === '?') fail('"(?" is not POSIX');
        const alts = parseAlts();
        if (regex[i] !== ')') fail('unbalanced "("');
        i++;
        return { k: 'group', alts };
      }
      case '*':
      case '+':
      case '?':
        return fail(`"${c}" at offset ${i - 1} has nothing to repeat`);
      case '{':
        return fail(`"{" at offset ${i - 1} has nothing to repeat`);
      case '.':
        return { k: 'any' };
      case '^':
      case '$':
        return { k: 'anchor', c };
      case '[':
        return { k: 'class', src: parseBracket() };
      case '\\': {
        const e = regex[i];
        if (e === undefined) return fail('ends with a lone "\\"');
        i++;
        if (GNU_ESCAPES[e]) return { k: 'class', src: GNU_ESCAPES[e]! };
        if (/[0-9A-Za-z]/.test(e)) return fail(`"\\${e}" means different things in different regex libraries`);
        return { k: 'lit', c: e };
      }
      default:
        return { k: 'lit', c };
    }
  }

  /** A POSIX bracket expression from after `[` through its `]`, as a regex class. */
  function parseBracket(): string {
    const neg = regex[i] === '^';
    if (neg) i++;
    let chars = '';
    const ranges: [string, string][] = [];
    const extra: string[] = [];
    let first = true;
    for (;;) {
      const c = regex[i];
      if (c === undefined) return fail('unclosed "["');
      if (c === ']' && !first) {
        i++;
        break;
      }
      first = false;
      if (c === '[' && /[:.=]/.test(regex[i + 1] ?? '')) {
        const kind = regex[i + 1]!;
        const end = regex.indexOf(kind + ']', i + 2);
        if (end < 0) return fail(`unclosed "[${kind}"`);
        const name = regex.slice(i + 2, end);
        if (kind !== ':') return fail(`"[${kind}${name}${kind}]" (collating elements) are not supported`);
        const set = POSIX_CLASSES[name];
        if (!set) return fail(`unknown class "[:${name}:]"`);
        extra.push(set);
        i = end + 2;
        continue;
      }
      i++;
      if (regex[i] === '-' && regex[i + 1] !== undefined && regex[i + 1] !== ']') {
        ranges.push([c, regex[i + 1]!]);
        i += 2;
      } else chars += c;
    }
    const base = classRegex(chars, ranges, false);
    if (extra.length === 0) return neg ? classRegex(chars, ranges, true) : base;
    // The named classes first: a "-" member stays last, where it is literal.
    const inner = extra.join('') + (base.startsWith('[') ? base.slice(1, -1) : base === '(?!)' ? '' : base);
    return `[${neg ? '^' : ''}${inner}]`;
  }

  let alts: Seq[];
  try {
    alts = parseAlts();
    if (i < regex.length) fail('unbalanced ")"');
  } catch (err) {
    if (err instanceof Refused) return { ok: false, why: err.message };
    throw err;
  }
  // One group around everything (`(css|js)`) lists the same alternatives.
  let top = alts;
  const only = alts.length === 1 && alts[0]!.length === 1 ? alts[0]![0]! : undefined;
  if (only && only.atom.k === 'group' && only.quant === '') top = only.atom.alts;
  const alternatives = top.map((seq) => ({ source: emitSeq(seq), literal: literalOf(seq) }));
  return { ok: true, source: emitAlts(alts), alternatives };
}

function emitAlts(alts: readonly Seq[]): string {
  return alts.map(emitSeq).join('|');
}

function emitSeq(seq: Seq): string {
  return seq.map((p) => emitAtom(p.atom) + p.quant).join('');
}

function emitAtom(a: Atom): string {
  switch (a.k) {
    case 'lit':
      return escapeRegexChar(a.c);
    case 'any':
      return '.';
    case 'class':
      return a.src;
    case 'group':
      return `(${emitAlts(a.alts)})`;
    case 'anchor':
      return a.c;
    case 'var':
      return a.text;
  }
}

/** The text of a sequence of plain characters (and `${VAR}`s), or undefined. */
function literalOf(seq: Seq): string | undefined {
  let out = '';
  for (const p of seq) {
    if (p.quant !== '') return undefined;
    if (p.atom.k === 'lit') out += p.atom.c;
    else if (p.atom.k === 'var') out += p.atom.text;
    else if (p.atom.k === 'group' && p.atom.alts.length === 1 && p.atom.alts[0]!.length === 0) continue; // `()`
    else return undefined;
  }
  return out;
}
