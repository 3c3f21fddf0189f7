import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FENCE_KEPT_MS, TagFences } from '../../src/tags/fences.js';

describe('TagFences', () => {
  it('a render that started before (or when) one of its tags was invalidated predates it', () => {
    let t = 10_000;
    const f = new TagFences(() => t);
    assert.equal(f.predates(['a'], 5000), false);
    f.note(['a', 'b']);
    assert.equal(f.predates(['x', 'a'], 9000), true);
    assert.equal(f.predates(['a'], 10_000), true, 'equal times count as older');
    assert.equal(f.predates(['a'], 10_001), false);
    assert.equal(f.predates(['c'], 9000), false);
    assert.equal(f.predates([], 9000), false);
  });

  it('after 15 minutes a fence is dropped, and a render older than a dropped fence is refused', () => {
    let t = 0;
    const f = new TagFences(() => t);
    f.note(['a']);
    t = FENCE_KEPT_MS + 1;
    f.note(['b']);
    assert.equal(f.size, 1);
    assert.equal(f.predates(['z'], -5), true, 'cannot be checked any more: not stored');
    assert.equal(f.predates(['z'], 1), false);
  });
});
