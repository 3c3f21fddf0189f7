import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { parseAction, parseFlush, parseHandle, type ParseResult } from '../../src/flush/parse.js';

const limits = { refetchUris: 3 };
const parse = (headers: IncomingHttpHeaders, body = '') => parseFlush(headers, Buffer.from(body), limits);
const ok = (r: ParseResult) => {
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.flush;
};
const code = (r: ParseResult) => (r.ok ? 'ok' : r.error.code);
const status = (r: ParseResult) => (r.ok ? 200 : r.error.status);

describe('CQ-Action', () => {
  it('is case-insensitive and defaults to Activate', () => {
    assert.equal(parseAction(undefined), 'Activate');
    assert.equal(parseAction(''), 'Activate');
    assert.equal(parseAction('activate'), 'Activate');
    assert.equal(parseAction('DELETE'), 'Delete');
    assert.equal(parseAction('deActivate'), 'Deactivate');
    assert.equal(parseAction('TEST'), 'Test');
    assert.equal(parseAction('Expire'), undefined);
  });

  it('unknown → 400 FG_FLUSH_BAD_ACTION', () => {
    const r = parse({ 'cq-action': 'Expire', 'cq-handle': '/content' });
    assert.equal(code(r), 'FG_FLUSH_BAD_ACTION');
    assert.equal(status(r), 400);
  });

  it('missing = Activate', () => {
    assert.equal(ok(parse({ 'cq-handle': '/content/a' })).action, 'Activate');
  });
});

describe('CQ-Handle and CQ-Path', () => {
  it('both given: handle acts, path routes', () => {
    const f = ok(parse({ 'cq-handle': '/content/a/b', 'cq-path': '/content/a' }));
    assert.equal(f.handle, '/content/a/b');
    assert.equal(f.routingKey, '/content/a');
  });

  it('missing CQ-Handle → CQ-Path; missing CQ-Path → CQ-Handle', () => {
    const a = ok(parse({ 'cq-path': '/content/x' }));
    assert.deepEqual([a.handle, a.routingKey], ['/content/x', '/content/x']);
    const b = ok(parse({ 'cq-handle': '/content/y' }));
    assert.deepEqual([b.handle, b.routingKey], ['/content/y', '/content/y']);
  });

  it('neither (or both empty) → 400 FG_FLUSH_NO_HANDLE', () => {
    assert.equal(code(parse({})), 'FG_FLUSH_NO_HANDLE');
    assert.equal(code(parse({ 'cq-handle': '  ', 'cq-path': '' })), 'FG_FLUSH_NO_HANDLE');
  });

  it('percent-decodes once and drops a trailing slash', () => {
    assert.equal(ok(parse({ 'cq-handle': '/content/a%20b/' })).handle, '/content/a b');
    assert.equal(ok(parse({ 'cq-handle': '/content/%252e%252e' })).handle, '/content/%2e%2e');
    assert.equal(ok(parse({ 'cq-handle': '/' })).handle, '/');
  });

  it('re-reads raw UTF-8 header bytes', () => {
    const latin1 = Buffer.from('/content/café', 'utf8').toString('latin1');
    assert.equal(ok(parse({ 'cq-handle': latin1 })).handle, '/content/café');
  });

  for (const bad of [
    '/content/../etc',
    '/content/%2e%2e/x',
    '/content/..%2fx',
    '/content/./x',
    '/content/.',
    '/content\\..\\etc',
    '/content/%5c..',
    '/content/a%00b',
    '/content/a%0ab',
    '/content/a%7f',
    'content/a',
    '%2fcontent',
    '/content//a',
    '/content/%zz',
  ]) {
    it(`handle ${JSON.stringify(bad)} → 400 FG_FLUSH_BAD_HANDLE`, () => {
      assert.equal(parseHandle(bad).ok, false);
      const r = parse({ 'cq-handle': bad });
      assert.equal(code(r), 'FG_FLUSH_BAD_HANDLE');
      assert.equal(status(r), 400);
      assert.equal(code(parse({ 'cq-handle': '/content/ok', 'cq-path': bad })), 'FG_FLUSH_BAD_HANDLE');
    });
  }
});

describe('CQ-Action-Scope', () => {
  it('ResourceOnly in any case; absent = undefined', () => {
    assert.equal(ok(parse({ 'cq-handle': '/c', 'cq-action-scope': 'ResourceOnly' })).scope, 'ResourceOnly');
    assert.equal(ok(parse({ 'cq-handle': '/c', 'cq-action-scope': 'resourceonly' })).scope, 'ResourceOnly');
    assert.equal(ok(parse({ 'cq-handle': '/c' })).scope, undefined);
  });

  it('anything else → 400 FG_FLUSH_BAD_SCOPE (a typo must not turn into a .stat touch)', () => {
    assert.equal(code(parse({ 'cq-handle': '/c', 'cq-action-scope': 'ResourceOnyl' })), 'FG_FLUSH_BAD_SCOPE');
  });
});

describe('invalidate-and-refetch body', () => {
  const h = { 'cq-handle': '/content/site/en/page', 'content-type': 'text/plain; charset=utf-8' };

  it('one URI per line, CRLF or LF, blank lines ignored; query strings kept; URLs reduced to path', () => {
    const f = ok(parse(h, '/content/site/en.html\r\n\n  /content/site/en/page.html?x=1 \nhttp://publish:4503/content/a.html\n'));
    assert.deepEqual(f.refetch, ['/content/site/en.html', '/content/site/en/page.html?x=1', '/content/a.html']);
  });

  it('only for Activate with text/plain', () => {
    assert.deepEqual(ok(parse({ ...h, 'cq-action': 'Delete' }, '/a.html\n')).refetch, []);
    assert.deepEqual(ok(parse({ ...h, 'content-type': 'application/octet-stream' }, '/a.html\n')).refetch, []);
  });

  it('more URIs than limits.refetchUris → 413 FG_FLUSH_TOO_MANY_URIS', () => {
    const r = parse(h, '/a.html\n/b.html\n/c.html\n/d.html\n');
    assert.equal(code(r), 'FG_FLUSH_TOO_MANY_URIS');
    assert.equal(status(r), 413);
    assert.equal(code(parse(h, '/a.html\n\n\n/b.html\n/c.html\n')), 'ok');
  });

  it('a traversal or relative URI → 400 FG_FLUSH_BAD_URI', () => {
    for (const body of ['/content/../etc/passwd', 'content/a.html', '/a/%2e%2e/b.html', '/a b.html'])
      assert.equal(code(parse(h, body)), 'FG_FLUSH_BAD_URI', body);
  });
});
