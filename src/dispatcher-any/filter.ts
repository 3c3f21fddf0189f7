/**
 * `/filter` → farm `filter`. Each Dispatcher rule `{ /type "allow|deny" /url … /path … }` becomes
 * one `allow:`/`deny:` item whose keys must all match, as in Dispatcher. `/url` (the whole path,
 * selectors and extension included) is split the way Sling splits a request:
 * `/content/*.html` → `path: /content/**, extension: html`; `/etc.clientlibs/*` →
 * `path: /etc, extension: clientlibs, suffix: /**`. The deprecated `/glob` (the request line,
 * `"* /content/*"`) becomes `method` and the same url split.
 */
import type { FilterMatch, RuleItem } from '../config/schema.js';
import { properties, scalarOf, type Block, type Loc, type Property, type Scalar } from './ast.js';
import { convertGlob, regexToGlobs } from './globs.js';
import { convertValue, quoted, type Warnings } from './notes.js';

type Match = { -readonly [K in keyof FilterMatch]?: string[] };

export interface ConvertedFilter {
  readonly rules: RuleItem<FilterMatch>[];
  /** `path` globs of allow rules, for deriving flushRoutes. */
  readonly allowPaths: { readonly glob: string; readonly loc: Loc }[];
}

const KEYS = ['method', 'path', 'extension', 'selectors', 'suffix', 'query'] as const;

export function convertFilter(filter: Block, w: Warnings): ConvertedFilter {
  const rules: RuleItem<FilterMatch>[] = [];
  const allowPaths: ConvertedFilter['allowPaths'][number][] = [];
  for (const item of filter.items) {
    if (item.kind === 'scalar') {
      w.add(item.loc, `/filter value ${quoted(item)} not carried over: a filter rule needs a label and a block, e.g. /0001 { /type "deny" /url "*" }`);
      continue;
    }
    if (item.value.kind !== 'block') {
      w.skip(item, 'a filter rule must be a block { /type … }');
      continue;
    }
    const rule = convertRule(item, item.value, w);
    if (!rule) continue;
    rules.push(rule);
    if (rule.allow) for (const g of list(rule.allow.path)) if (typeof g === 'string') allowPaths.push({ glob: g, loc: item.loc });
  }
  return { rules, allowPaths };
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function convertRule(p: Property, rule: Block, w: Warnings): RuleItem<FilterMatch> | undefined {
  const label = `/filter /${p.name}`;
  const type = scalarOf(rule, 'type')?.text.toLowerCase();
  if (type !== 'allow' && type !== 'deny') {
    w.skip(p, `filter rule has no /type "allow" or "deny"`);
    return undefined;
  }
  const match: Match = {};
  const set = (key: keyof Match, globs: string[], from: Property) => {
    const existing = match[key];
    if (existing && existing.join('\n') !== globs.join('\n')) {
      w.add(from.loc, `/${from.name} in ${label} narrows ${key} differently from another key of the same rule; kept ${JSON.stringify(existing)}`);
      return;
    }
    match[key] = globs;
  };
  for (const prop of properties(rule)) {
    if (prop.name === 'type') continue;
    if (prop.value.kind !== 'scalar') {
      w.skip(prop, 'expected a single value');
      return undefined;
    }
    const v = prop.value;
    let ok = true;
    switch (prop.name) {
      case 'method':
        ok = put(set, 'method', convertValue(v, 'word', prop.name, w).map((m) => m.toUpperCase()), prop);
        break;
      case 'path':
      case 'suffix':
        ok = put(set, prop.name, convertValue(v, 'path', prop.name, w), prop);
        break;
      case 'extension':
      case 'selectors':
        ok = put(set, prop.name, convertValue(v, 'word', prop.name, w), prop);
        break;
      case 'query':
        ok = put(set, 'query', convertValue(v, 'text', prop.name, w), prop);
        break;
      case 'url':
        ok = convertUrl(v, w, (key, globs) => set(key, globs, prop));
        break;
      case 'glob':
        ok = convertRequestLine(v, prop, w, (key, globs) => set(key, globs, prop));
        break;
      case 'protocol':
        w.skip(prop, `farmgate does not filter on the protocol; ${label} now matches any protocol`);
        break;
      default:
        w.skip(prop, `unknown filter key in ${label}; the rule is kept without it`);
    }
    if (!ok) {
      w.add(p.loc, `${label} not carried over: its /${prop.name} could not be converted (see above)`);
      return undefined;
    }
  }
  const out: FilterMatch = {};
  for (const key of KEYS) {
    const v = match[key];
    if (v) (out as Record<string, string | string[]>)[key] = v.length === 1 ? v[0]! : v;
  }
  if (Object.keys(out).length === 0) out.path = '/**';
  return type === 'allow' ? { allow: out } : { deny: out };
}

function put(set: (k: keyof Match, g: string[], p: Property) => void, key: keyof Match, globs: string[], p: Property): boolean {
  if (globs.length === 0) return false;
  set(key, globs, p);
  return true;
}

type Setter = (key: keyof Match, globs: string[]) => void;

/** `/url` → path (+ selectors, extension, suffix); every regex alternative must split the same way. */
function convertUrl(v: Scalar, w: Warnings, set: Setter): boolean {
  const dglobs = urlSources(v, w);
  if (dglobs.length === 0) return false;
  const splits = dglobs.map(splitUrl);
  const keys = new Set(splits.flatMap((s) => Object.keys(s))) as Set<keyof Match>;
  if (splits.length > 1 && [...keys].some((k) => k !== 'path')) {
    w.add(v.loc, `/url ${quoted(v)}: alternatives with different extensions or selectors cannot share one rule`);
    return false;
  }
  for (const key of keys) {
    const globs: string[] = [];
    for (const s of splits) {
      const value = s[key];
      if (value === undefined) continue;
      const c = convertGlob(value, key === 'extension' || key === 'selectors' ? 'word' : 'path');
      if ('error' in c) {
        w.add(v.loc, `/url ${quoted(v)} not carried over: ${c.error}`);
        return false;
      }
      globs.push(c.glob);
    }
    set(key, [...new Set(globs)]);
  }
  return true;
}

/** A url value as Dispatcher globs: itself, or the alternatives of a single-quoted regex. */
function urlSources(v: Scalar, w: Warnings): string[] {
  if (v.quote !== "'") return [v.text];
  const r = regexToGlobs(v.text);
  if (r.dropped.length > 0) w.add(v.loc, `/url '${v.text}': regex alternative(s) ${r.dropped.join(', ')} not carried over: no glob equivalent`);
  return r.globs.filter((g) => g !== '');
}

/** Sling's split of a Dispatcher url glob: the first `.` ends the resource path. */
export function splitUrl(glob: string): Partial<Record<keyof Match, string>> {
  if (glob === '*') return { path: '*' };
  const dot = firstDot(glob);
  if (dot < 0) return { path: glob };
  const before = glob.slice(0, dot) || '/';
  const rest = glob.slice(dot + 1);
  const slash = rest.indexOf('/');
  const tail = slash < 0 ? rest : rest.slice(0, slash);
  const out: Partial<Record<keyof Match, string>> = { path: before };
  if (tail !== '*') {
    const parts = tail.split('.');
    const ext = parts.pop()!;
    if (ext !== '*' && ext !== '') out.extension = ext;
    if (parts.length > 0) out.selectors = parts.join('.');
  }
  if (slash >= 0 && rest.slice(slash) !== '/*') out.suffix = rest.slice(slash);
  else if (slash >= 0) out.suffix = '/*';
  return out;
}

function firstDot(glob: string): number {
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '[') i = Math.max(i, glob.indexOf(']', i + 2));
    else if (ch === '$' && glob[i + 1] === '{') i = Math.max(i, glob.indexOf('}', i));
    else if (ch === '.') return i;
  }
  return -1;
}

/** `/glob "* /content/*"`: the request line → method and url. */
function convertRequestLine(v: Scalar, p: Property, w: Warnings, set: Setter): boolean {
  if (v.quote === "'") {
    w.skip(p, 'a regex on the whole request line has no farmgate equivalent');
    return false;
  }
  const parts = v.text.trim().split(/\s+/);
  w.add(p.loc, `note: deprecated /glob ${quoted(v)} (the request line) converted to method and path; review it`);
  if (parts.length === 1 && parts[0] === '*') {
    set('path', ['/**']);
    return true;
  }
  const [method, url] = parts;
  if (!method || !url || (!url.startsWith('/') && !url.startsWith('*'))) {
    w.skip(p, `cannot read ${quoted(v)} as "METHOD URL [PROTOCOL]"`);
    return false;
  }
  if (method !== '*') set('method', [method.toUpperCase()]);
  return convertUrl({ ...v, text: url, quote: '"' }, w, set);
}
