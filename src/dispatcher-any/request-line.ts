/**
 * The deprecated filter `/glob`: one Dispatcher glob on the whole request line,
 * `METHOD URL[?QUERY] PROTOCOL` ("`/glob "* /index.html *"` denies `GET /index.html` but not
 * `GET /index.html?a=b`", Adobe's default dispatcher.any). farmgate filters on method, url and
 * query separately, so the glob is cut exactly: a line `m SP x SP p` matches when, for one way
 * of placing the method's end and the protocol's start in the glob (dglob.splitAtChar), the
 * pieces match `m`, `x` and `p`; `x` is cut again at the `?` that starts the query. Each way is
 * one term (method, url, query?) and the rule becomes one farmgate item per term.
 *
 * On the wire the three parts hold no space (the URL is percent-encoded there), so a way that
 * would need a literal space inside the method, the URL or the protocol matches no line; the
 * URL piece is then matched against farmgate's `url` (decoded once, as Dispatcher matches the
 * sanitized URL). The protocol is not a farmgate key: a protocol piece matching every protocol
 * a request can have (HTTP/1.0, HTTP/1.1, HTTP/2.0) is dropped, one matching none drops its
 * term, anything else makes the term inexact. A term that holds only when the request has no
 * query string is inexact too, unless another term covers the same URL with any query.
 */
import { matchesEverything, parseDispatcherGlob, splitAtChar, tokensRegExp, type GlobToken } from './dglob.js';
import { carryTokens, type CarriedValue } from './values.js';

export const PROTOCOLS = ['HTTP/1.0', 'HTTP/1.1', 'HTTP/2.0'] as const;

export interface LineTerm {
  readonly method: CarriedValue | undefined;
  readonly url: CarriedValue;
  readonly query: CarriedValue | undefined;
  /** When Dispatcher's term holds only for some requests farmgate cannot tell apart ("for …"). */
  readonly inexact: string | undefined;
}

export type Decomposed = { readonly ok: true; readonly terms: LineTerm[] } | { readonly ok: false; readonly why: string };

const MAX_TERMS = 32;

const hasLiteral = (tokens: readonly GlobToken[], c: string) => tokens.some((t) => t.t === 'lit' && t.c === c);

interface RawTerm {
  m: GlobToken[];
  u: GlobToken[];
  q: GlobToken[] | undefined;
  p: GlobToken[];
}

export function decomposeRequestLine(glob: string): Decomposed {
  const parsed = parseDispatcherGlob(glob);
  if (!parsed.ok) return { ok: true, terms: [] };
  const raw: RawTerm[] = [];
  for (const [m, rest] of splitAtChar(parsed.tokens, ' ')) {
    if (m.length === 0 || hasLiteral(m, ' ')) continue; // a method is never empty and has no space
    for (const [x, p] of splitAtChar(rest, ' ')) {
      if (p.length === 0 || hasLiteral(p, ' ') || hasLiteral(x, ' ')) continue;
      raw.push({ m, u: x, q: undefined, p });
      for (const [u, q] of splitAtChar(x, '?')) raw.push({ m, u, q, p });
    }
  }
  // Dedupe, then let a "no query" term and its "any query" twin stand as one unconditional term.
  const terms = [...new Map(raw.map((t) => [JSON.stringify(t), t])).values()];
  const mup = (t: RawTerm) => JSON.stringify([t.m, t.u, t.p]);
  const withAnyQuery = new Set(terms.filter((t) => t.q !== undefined && matchesEverything(t.q)).map(mup));
  const withoutQuery = new Set(terms.filter((t) => t.q === undefined).map(mup));
  const out: LineTerm[] = [];
  for (const t of terms) {
    if (t.q !== undefined && matchesEverything(t.q) && withoutQuery.has(mup(t))) continue;
    const covered = t.q === undefined && withAnyQuery.has(mup(t));
    const protocols = PROTOCOLS.filter((proto) => tokensRegExp(t.p).test(proto));
    if (protocols.length === 0) continue;
    const why: string[] = [];
    if (protocols.length < PROTOCOLS.length) why.push(`for ${protocols.join(' and ')} requests`);
    if (t.q === undefined && !covered) why.push('for requests without a query string');
    const method = matchesEverything(t.m) ? undefined : carryTokens(t.m, 'method');
    const url = carryTokens(t.u, 'path');
    const query = t.q === undefined || matchesEverything(t.q) ? undefined : carryTokens(t.q, 'plain');
    for (const c of [method, url, query]) if (c && !c.ok) return { ok: false, why: c.why };
    out.push({
      method: method?.ok ? method.v : undefined,
      url: (url as { v: CarriedValue }).v,
      query: query?.ok ? query.v : undefined,
      inexact: why.length > 0 ? why.join(' and ') : undefined,
    });
    if (out.length > MAX_TERMS) return { ok: false, why: `it splits into more than ${MAX_TERMS} method/url/query combinations` };
  }
  return { ok: true, terms: out };
}
