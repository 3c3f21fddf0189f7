/** The in-memory index: replace on store, forget on delete, folder deletes, and the cost of a tag lookup. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TagIndex } from '../../src/tags/tag-index.js';

describe('TagIndex', () => {
  it('stores, replaces and forgets a file’s tags', () => {
    const ix = new TagIndex();
    ix.set('/content/a.html', ['page-a', 'nav']);
    ix.set('/content/b.html', ['page-b', 'nav']);
    assert.deepEqual([...ix.files('nav')].sort(), ['/content/a.html', '/content/b.html']);
    ix.set('/content/a.html', ['page-a', 'footer']);
    assert.deepEqual([...ix.files('nav')], ['/content/b.html'], 'stored again: old tags replaced');
    assert.deepEqual([...ix.files('footer')], ['/content/a.html']);
    assert.equal(ix.forget('/content/b.html'), true);
    assert.equal(ix.forget('/content/b.html'), false);
    assert.equal(ix.files('nav').size, 0);
    assert.deepEqual(ix.stats(), { files: 1, tags: 2, postings: 2 });
    ix.set('/content/a.html', []);
    assert.deepEqual(ix.stats(), { files: 0, tags: 0, postings: 0 });
  });

  it('forgets a folder tree, the folder’s own path included, and nothing beside it', () => {
    const ix = new TagIndex();
    for (const p of ['/c/en.html', '/c/en/a.html', '/c/en/b/c.html', '/c/en', '/c/english.html', '/d/x.html']) ix.set(p, ['t', p]);
    assert.deepEqual(ix.forgetUnder('/c/en').sort(), ['/c/en', '/c/en/a.html', '/c/en/b/c.html']);
    assert.deepEqual([...ix.files('t')].sort(), ['/c/en.html', '/c/english.html', '/d/x.html']);
    assert.deepEqual(ix.forgetUnder('/nothing'), []);
    assert.equal(ix.forgetUnder('/').length, 3);
    assert.deepEqual(ix.stats(), { files: 0, tags: 0, postings: 0 });
  });

  it('finds a tag’s files in time that does not grow with the index (100 vs 100,000 other files)', () => {
    const time = (others: number) => {
      const ix = new TagIndex();
      for (let i = 0; i < others; i++) ix.set(`/content/o/${i % 100}/p${i}.html`, [`other-${i}`, 'shared-other']);
      for (let i = 0; i < 50; i++) ix.set(`/content/t/p${i}.html`, ['target']);
      const start = process.hrtime.bigint();
      let n = 0;
      for (let r = 0; r < 2000; r++) n += [...ix.files('target')].length;
      assert.equal(n, 100_000);
      return Number(process.hrtime.bigint() - start);
    };
    const small = Math.min(time(100), time(100));
    const large = Math.min(time(100_000), time(100_000));
    // Generous bound for a shared machine; a scan of 100,000 files would be ~1000x slower.
    assert.ok(large < small * 10, `lookup with 100,000 other files took ${large} ns vs ${small} ns`);
  });
});
