import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentKeys } from '../../../src/invalidation/webhooks/dedupe.js';
import { expandTemplates } from '../../../src/invalidation/webhooks/templates.js';

describe('path templates', () => {
  it('fill every template whose placeholders all have values, once per value set', () => {
    const r = expandTemplates(['/content/site-a/{locale}/{slug}', '/content/site-a/news', '/x/{missing}'], [
      { locale: 'en', slug: 'a' },
      { locale: 'de', slug: 'b' },
      { locale: 'fr', slug: '' },
    ]);
    assert.deepEqual(r, { paths: ['/content/site-a/en/a', '/content/site-a/de/b', '/content/site-a/news'], refused: [] });
  });

  it('refuse results that are not document paths (a CMS value is never trusted)', () => {
    const r = expandTemplates(['/c{path}'], [{ path: '/../../etc/passwd' }, { path: '/a?b=1' }, { path: '/%2e%2e/x' }, { path: '//ok//' }]);
    assert.deepEqual(r.paths, ['/c/ok']);
    assert.equal(r.refused.length, 3);
  });
});

describe('RecentKeys', () => {
  it('remembers applied keys for the window; failed ones are not remembered', async () => {
    let t = 0;
    const keys = new RecentKeys(1000, 3, () => t);
    await keys.run(['a'], async () => 1);
    assert.equal(keys.seen(['x', 'a']), true);
    await assert.rejects(keys.run(['b'], async () => Promise.reject(new Error('disk'))));
    assert.equal(keys.seen(['b']), false, 'a retry of a failed webhook is applied');
    t = 1000;
    assert.equal(keys.seen(['a']), false);
  });

  it('a concurrent duplicate can wait for the one in flight; the store stays bounded', async () => {
    const keys = new RecentKeys(60_000, 3);
    let release!: () => void;
    const first = keys.run(['k'], () => new Promise<void>((r) => (release = r)));
    const pending = keys.pending(['k']);
    assert.ok(pending);
    release();
    assert.equal(await pending, true);
    await first;
    for (const k of ['1', '2', '3', '4', '5']) await keys.run([k], async () => undefined);
    assert.ok(keys.size <= 3);
    assert.equal(keys.seen(['5']), true);
  });
});
