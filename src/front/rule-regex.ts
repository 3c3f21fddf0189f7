/**
 * Every compiled rule value as the anchored regular expressions it matches with: what the front
 * generator emits for PCRE. Built from the same compilers farmgate matches with
 * (farms/match.ts: picomatch with `dot: true`, a path glob starting with `/**\/` also matching at
 * the root), so the front decides as farmgate does; test/front/differential.test.ts checks it
 * against serve/route.ts request by request.
 */
import picomatch from 'picomatch';
import type { FilterMatch } from '../config/index.js';

/** The regexes of one glob value (any of them matches): farms/match.ts compilePathGlob. */
export function pathGlobRegexes(glob: string): RegExp[] {
  const main = picomatch.makeRe(glob, { dot: true });
  if (!glob.startsWith('/**/')) return [main];
  return [main, picomatch.makeRe('/' + glob.slice(4), { dot: true })];
}

/** farms/match.ts compileGlob. */
export function globRegexes(glob: string, opts: { nocase?: boolean } = {}): RegExp[] {
  return [picomatch.makeRe(glob, { dot: true, nocase: opts.nocase ?? false })];
}

const list = (v: string | readonly string[]) => (typeof v === 'string' ? [v] : v);

/** Regexes per filter key of one filter item (farms/filter.ts compileMatch). */
export function filterRegexes(m: FilterMatch): Partial<Record<keyof FilterMatch, RegExp[]>> {
  const out: Partial<Record<keyof FilterMatch, RegExp[]>> = {};
  if (m.method !== undefined) out.method = list(m.method).flatMap((g) => globRegexes(g, { nocase: true }));
  if (m.path !== undefined) out.path = list(m.path).flatMap(pathGlobRegexes);
  if (m.extension !== undefined) out.extension = list(m.extension).flatMap((g) => globRegexes(g));
  if (m.selectors !== undefined) out.selectors = list(m.selectors).flatMap((g) => globRegexes(g));
  if (m.suffix !== undefined) out.suffix = list(m.suffix).flatMap(pathGlobRegexes);
  if (m.query !== undefined) out.query = list(m.query).flatMap((g) => globRegexes(g));
  return out;
}
