import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeletionFences } from '../../src/cache/fences.js';

describe('DeletionFences', () => {
  let t = 1000;
  const fences = new DeletionFences('/d', () => t);

  it('knows nothing at first', () => assert.equal(fences.lastDeleted('/d/content/a.html'), 0));

  it('a file, a base.* pattern and a folder tree', () => {
    fences.note('/d/content/a.html');
    t = 2000;
    fences.note('/d/content/page.');
    t = 3000;
    fences.note('/d/content/old/');
    assert.equal(fences.lastDeleted('/d/content/a.html'), 1000);
    assert.equal(fences.lastDeleted('/d/content/page.html'), 2000);
    assert.equal(fences.lastDeleted('/d/content/page.mobile.html'), 2000);
    assert.equal(fences.lastDeleted('/d/content/pages.html'), 0);
    assert.equal(fences.lastDeleted('/d/content/old/x/y.html'), 3000);
    assert.equal(fences.lastDeleted('/d/content/older.html'), 0);
  });

  it('the latest time wins, and old entries are forgotten after 15 minutes', () => {
    t = 4000;
    fences.note('/d/content/a.html');
    assert.equal(fences.lastDeleted('/d/content/a.html'), 4000);
    t = 4000 + 15 * 60_000;
    fences.note('/d/other.html');
    assert.equal(fences.lastDeleted('/d/content/page.html'), 0);
    assert.equal(fences.size, 1);
  });
});
