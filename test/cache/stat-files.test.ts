import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freshness, planStatTouches, statLookupOrder } from '../../src/cache/stat-files.js';

describe('statLookupOrder (nearest .stat, capped at statfileslevel)', () => {
  it('walks up from the file folder to the docroot', () => {
    assert.deepEqual(statLookupOrder('/content/site/en/products/shoes.html', 3), ['/content/site/en', '/content/site', '/content', '/']);
  });
  it('a shallow file starts at its own folder', () => {
    assert.deepEqual(statLookupOrder('/content/site/en.html', 3), ['/content/site', '/content', '/']);
  });
  it('level 0 looks at the docroot only', () => {
    assert.deepEqual(statLookupOrder('/content/site/en.html', 0), ['/']);
  });
  it('a file in the docroot', () => assert.deepEqual(statLookupOrder('/index.html', 4), ['/']));
});

describe('planStatTouches', () => {
  it('extension-less handle: its own folder counts (reference 2.3 A)', () => {
    assert.deepEqual(planStatTouches('/content/site/en/products', 3), ['/', '/content', '/content/site', '/content/site/en']);
  });
  it('handle with extension: its parent is the deepest (reference 2.3 D)', () => {
    assert.deepEqual(planStatTouches('/content/dam/site/logo.png', 5), ['/', '/content', '/content/dam', '/content/dam/site']);
  });
  it('level 0 touches the root only (reference 2.3 E)', () => {
    assert.deepEqual(planStatTouches('/content/site/en', 0), ['/']);
  });
  it('the AMS table (reference 2.3 F)', () => {
    const h = '/content/dam/brand1/en/us/logo.jpg';
    assert.deepEqual(planStatTouches(h, 2), ['/', '/content', '/content/dam']);
    assert.deepEqual(planStatTouches(h, 5).at(-1), '/content/dam/brand1/en/us');
    assert.deepEqual(planStatTouches(h, 9).length, 6);
  });
  it('handle / touches the root .stat', () => assert.deepEqual(planStatTouches('/', 3), ['/']));
});

describe('freshness', () => {
  const base = { fileMtimeMs: 1000, statMtimeMs: undefined, invalidates: true, gracePeriodMs: 0, ttlExpiresMs: undefined, now: 5000 };
  it('fresh without a .stat', () => assert.equal(freshness(base), 'fresh'));
  it('stale when the .stat is newer', () => assert.equal(freshness({ ...base, statMtimeMs: 2000 }), 'stale-stat'));
  it('equal times count as stale', () => assert.equal(freshness({ ...base, statMtimeMs: 1000 }), 'stale-stat'));
  it('fresh when the .stat is older', () => assert.equal(freshness({ ...base, statMtimeMs: 999 }), 'fresh'));
  it('fresh when cache.invalidate does not allow it', () => assert.equal(freshness({ ...base, statMtimeMs: 2000, invalidates: false }), 'fresh'));
  it('grace period: still fresh until gracePeriodMs after the touch', () => {
    assert.equal(freshness({ ...base, statMtimeMs: 4000, gracePeriodMs: 2000 }), 'fresh');
    assert.equal(freshness({ ...base, statMtimeMs: 3000, gracePeriodMs: 2000 }), 'stale-stat');
  });
  it('TTL passed → stale even without a .stat', () => {
    assert.equal(freshness({ ...base, ttlExpiresMs: 5000 }), 'stale-ttl');
    assert.equal(freshness({ ...base, ttlExpiresMs: 5001 }), 'fresh');
  });
  it('TTL not passed still honours the .stat (Dispatcher 4.3.5+)', () => {
    assert.equal(freshness({ ...base, ttlExpiresMs: 9000, statMtimeMs: 2000 }), 'stale-stat');
  });
});
