/**
 * Sitemap reading (sitemaps.org protocol 0.9) with a real XML parser: `sax` (isaacs/sax-js) in
 * strict mode with namespaces resolved. A sitemap is `<urlset>` of `<url><loc>…</loc></url>`, or
 * `<sitemapindex>` of `<sitemap><loc>…</loc></sitemap>`; only `<loc>` elements in the sitemap
 * namespace count, whatever prefix binds it, which leaves out extension elements such as
 * `<image:loc>` (Google image sitemaps) that sit inside `<url>` and are not pages. Comments,
 * processing instructions, CDATA and entities are the parser's business.
 */
import sax from 'sax';

export interface Sitemap {
  readonly kind: 'urlset' | 'index';
  readonly locs: string[];
}

const SITEMAP_NS = /^https?:\/\/www\.sitemaps\.org\/schemas\/sitemap\/0\.9\/?$/;

export function parseSitemap(xml: string): Sitemap {
  const parser = sax.parser(true, { xmlns: true, trim: false });
  let kind: Sitemap['kind'] | undefined;
  let depth = 0;
  const locs: string[] = [];
  let loc: string | undefined;
  const inSitemapNs = (node: sax.QualifiedTag) => SITEMAP_NS.test(node.uri) || (node.uri === '' && kind !== undefined && node.prefix === '');
  parser.onopentag = (node) => {
    const tag = node as sax.QualifiedTag;
    depth++;
    if (depth === 1) {
      if (tag.local === 'urlset' || tag.local === 'sitemapindex') kind = tag.local === 'urlset' ? 'urlset' : 'index';
      return;
    }
    if (kind && tag.local === 'loc' && inSitemapNs(tag)) loc = '';
  };
  const onText = (t: string) => {
    if (loc !== undefined) loc += t;
  };
  parser.ontext = onText;
  parser.oncdata = onText;
  parser.onclosetag = () => {
    depth--;
    if (loc !== undefined) {
      const value = loc.trim();
      if (value) locs.push(value);
      loc = undefined;
    }
  };
  try {
    parser.write(xml).close();
  } catch (err) {
    if (!kind) throw new Error(`not a sitemap: ${(err as Error).message.split('\n')[0]}`);
    throw new Error(`malformed sitemap: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!kind) throw new Error('not a sitemap: expected a <urlset> or <sitemapindex> root element');
  return { kind, locs };
}
