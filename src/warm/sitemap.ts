/**
 * Sitemap reading without an XML dependency. A sitemap (sitemaps.org protocol 0.9) is a flat
 * document: `<urlset>` of `<url><loc>…</loc></url>`, or `<sitemapindex>` of
 * `<sitemap><loc>…</loc></sitemap>`. We only need the `<loc>` texts, so a careful scan does:
 * comments and processing instructions are removed first (a commented-out `<loc>` must not
 * count), CDATA is unwrapped, entities are decoded, and only `<loc>` elements in the sitemap
 * namespace count: unprefixed ones, or ones whose prefix is bound to the sitemap namespace.
 * That leaves out extension elements such as `<image:loc>` (Google image sitemaps) that sit
 * inside `<url>` and are not pages.
 */

export interface Sitemap {
  readonly kind: 'urlset' | 'index';
  readonly locs: string[];
}

const SITEMAP_NS = /^https?:\/\/www\.sitemaps\.org\/schemas\/sitemap\/0\.9\/?$/;

export function parseSitemap(xml: string): Sitemap {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '').replace(/<\?[\s\S]*?\?>/g, '').replace(/<!DOCTYPE[^>]*>/gi, '');
  const root = /<([A-Za-z_][\w.-]*:)?(urlset|sitemapindex)\b/.exec(text);
  if (!root) throw new Error('not a sitemap: expected a <urlset> or <sitemapindex> root element');
  // Prefixes bound to the sitemap namespace, plus the empty prefix.
  const prefixes = new Set<string>(['']);
  for (const m of text.matchAll(/\sxmlns:([A-Za-z_][\w.-]*)\s*=\s*["']([^"']*)["']/g)) {
    if (SITEMAP_NS.test(m[2]!)) prefixes.add(m[1]! + ':');
  }
  const locs: string[] = [];
  for (const m of text.matchAll(/<([A-Za-z_][\w.-]*:)?loc(?:\s[^>]*)?>([\s\S]*?)<\/\1?loc\s*>/g)) {
    if (!prefixes.has(m[1] ?? '')) continue;
    const value = decode(unwrapCdata(m[2]!)).trim();
    if (value) locs.push(value);
  }
  return { kind: root[2] === 'sitemapindex' ? 'index' : 'urlset', locs };
}

function unwrapCdata(s: string): string {
  return s.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1');
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The five XML entities and numeric character references. */
function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return NAMED[e]!;
  });
}
