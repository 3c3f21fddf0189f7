/**
 * The sitemap reader on documents a hand-written scanner gets wrong: commented-out entries,
 * CDATA, entities, extension `<image:loc>` elements, a prefixed sitemap namespace, broken XML.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSitemap } from '../../src/warm/sitemap.js';

describe('parseSitemap', () => {
  it('reads page locs only: comments, CDATA, entities, image extensions', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- <url><loc>http://site/commented-out.html</loc></url> -->
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc> http://site/a.html?x=1&amp;y=2 </loc><image:image><image:loc>http://site/a.png</image:loc></image:image></url>
  <url><loc><![CDATA[http://site/b.html]]></loc></url>
  <url><loc>http://site/caf&#xE9;.html</loc></url>
</urlset>`;
    assert.deepEqual(parseSitemap(xml), { kind: 'urlset', locs: ['http://site/a.html?x=1&y=2', 'http://site/b.html', 'http://site/café.html'] });
  });

  it('a sitemap index, and the sitemap namespace under any prefix', () => {
    assert.deepEqual(parseSitemap('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>s1.xml</loc></sitemap></sitemapindex>'), { kind: 'index', locs: ['s1.xml'] });
    assert.deepEqual(parseSitemap('<sm:urlset xmlns:sm="https://www.sitemaps.org/schemas/sitemap/0.9/"><sm:url><sm:loc>http://a/x</sm:loc></sm:url></sm:urlset>').locs, ['http://a/x']);
  });

  it('refuses what is not a sitemap, and broken XML, with a reason', () => {
    assert.throws(() => parseSitemap('<html><loc>x</loc></html>'), /not a sitemap/);
    assert.throws(() => parseSitemap('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>x</url></urlset>'), /malformed sitemap/);
  });
});
