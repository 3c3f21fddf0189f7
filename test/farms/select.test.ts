import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeConfig } from '../../src/config/index.js';
import { configSchema } from '../../src/config/schema.js';
import { compileFarm } from '../../src/farms/farm.js';
import { routeFlush, selectFarm } from '../../src/farms/select.js';

function farms(list: { name: string; virtualhosts: string[]; flushRoutes?: string[] }[]) {
  const raw = configSchema.parse({
    farms: list.map((f) => ({ ...f, docroot: `/tmp/${f.name}`, renders: [{ url: 'http://127.0.0.1:1' }] })),
  });
  return normalizeConfig(raw, { configDir: '/tmp', defaultName: 'test' }).farms.map(compileFarm);
}

describe('selectFarm (virtualhosts)', () => {
  const fs = farms([
    { name: 'a', virtualhosts: ['site-a.local', '*.site-a.com'] },
    { name: 'b', virtualhosts: ['site-b.local:8443', 'shared.local'] },
    { name: 'c', virtualhosts: ['shared.local', '*'] },
  ]);
  const pick = (host: string | undefined) => selectFarm(fs, host)?.name;

  it('matches case-insensitively and ignores the port when the virtualhost has none', () => {
    assert.equal(pick('SITE-A.local'), 'a');
    assert.equal(pick('site-a.local:8080'), 'a');
    assert.equal(pick('www.Site-A.com'), 'a');
  });
  it('a virtualhost with :port matches that port only', () => {
    assert.equal(pick('site-b.local:8443'), 'b');
    assert.equal(pick('site-b.local:80'), 'c');
    assert.equal(pick('site-b.local'), 'c');
  });
  it('takes the first match in file order', () => {
    assert.equal(pick('shared.local'), 'b');
  });
  it('returns nothing when no farm matches or the Host is missing', () => {
    const strict = farms([{ name: 'a', virtualhosts: ['site-a.local'] }]);
    assert.equal(selectFarm(strict, 'other.local'), undefined);
    assert.equal(selectFarm(strict, undefined), undefined);
    assert.equal(selectFarm(strict, ''), undefined);
  });
  it('handles IPv6 literal hosts', () => {
    const v6 = farms([{ name: 'v6', virtualhosts: ['[::1]'] }]);
    assert.equal(selectFarm(v6, '[::1]:8080')?.name, 'v6');
  });
});

describe('routeFlush (flushRoutes on CQ-Path)', () => {
  const fs = farms([
    { name: 'a', virtualhosts: ['a'], flushRoutes: ['/content/site-a/**', '/content/dam/shared/**'] },
    { name: 'b', virtualhosts: ['b'], flushRoutes: ['/content/site-b/**', '/content/dam/shared/**'] },
    { name: 'c', virtualhosts: ['c'] },
  ]);
  const route = (key: string) => routeFlush(fs, key).map((r) => `${r.farm.name}:${r.glob}`);

  it('routes to one farm', () => {
    assert.deepEqual(route('/content/site-a/en/page'), ['a:/content/site-a/**']);
  });
  it('routes a shared path to every farm that lists it', () => {
    assert.deepEqual(route('/content/dam/shared/logo.png'), ['a:/content/dam/shared/**', 'b:/content/dam/shared/**']);
  });
  it('routes to none', () => {
    assert.deepEqual(route('/content/site-z/en'), []);
  });
  it('`**` also matches the folder itself', () => {
    assert.deepEqual(route('/content/site-b'), ['b:/content/site-b/**']);
  });
});
