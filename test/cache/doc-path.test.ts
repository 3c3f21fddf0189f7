/**
 * URL → docroot path, including the table of traversal attempts: none may map outside the
 * docroot, and none may give one file two names.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isInternalName, joinDocroot, toDocPath } from '../../src/cache/doc-path.js';

describe('toDocPath', () => {
  const ok: [string, string][] = [
    ['/content/site/en.html', '/content/site/en.html'],
    ['/content/site/caf%C3%A9.html', '/content/site/café.html'],
    ['/content/site/a%20b.html', '/content/site/a b.html'],
    ['/content/site/', '/content/site/'],
    ['/', '/'],
    ['/content/%252e%252e/x.html', '/content/%2e%2e/x.html'],
  ];
  for (const [raw, expected] of ok) {
    it(`maps ${raw}`, () => assert.deepEqual(toDocPath(raw), { ok: true, docPath: expected }));
  }

  const rejected: [string, RegExp][] = [
    ['/content/../etc/passwd', /"\.\." segment/],
    ['/content/%2e%2e/etc/passwd', /"\.\." segment/],
    ['/content/%2E%2E/etc/passwd', /"\.\." segment/],
    ['/content/.%2e/etc/passwd', /"\.\." segment/],
    ['/content/..%2fetc/passwd', /encoded slash/],
    ['/content/%2fetc/passwd', /encoded slash/],
    ['/content/..%5cetc', /encoded slash/],
    ['/content\\..\\etc', /backslash/],
    ['/content/x.html%00.png', /NUL/],
    ['/content/a%0d%0aSet-Cookie:x.html', /control character/],
    ['/content//etc/passwd', /empty segment/],
    ['//etc/passwd', /empty segment/],
    ['/content/./x.html', /"\." segment/],
    ['/content/%zz.html', /percent-encoding/],
    ['content/x.html', /not absolute/],
    ['/..', /"\.\." segment/],
  ];
  for (const [raw, reason] of rejected) {
    it(`rejects ${raw}`, () => {
      const r = toDocPath(raw);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, reason);
    });
  }
});

describe('joinDocroot', () => {
  it('joins inside the docroot', () => {
    assert.equal(joinDocroot('/srv/cache', '/content/a.html'), path.join('/srv/cache', 'content/a.html'));
  });
  it('throws rather than leave the docroot (belt and braces)', () => {
    assert.throws(() => joinDocroot('/srv/cache', '/../etc/passwd'), /escapes docroot/);
    assert.throws(() => joinDocroot('/srv/cache', '/../cache2/x'), /escapes docroot/);
  });
});

describe('isInternalName', () => {
  for (const p of ['/.stat', '/content/.stat', '/content/a.html.h', '/content/a.html.ttl', '/content/.fgtmp-a.html.1.2']) {
    it(`${p} is internal`, () => assert.equal(isInternalName(p), true));
  }
  for (const p of ['/content/a.html', '/content/stat.html', '/content/a.htm', '/content/a.ttl.html']) {
    it(`${p} is not`, () => assert.equal(isInternalName(p), false));
  }
});
