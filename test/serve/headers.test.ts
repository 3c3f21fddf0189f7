import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientResponseHeaders, headersToStore, renderRequestHeaders } from '../../src/serve/headers.js';

describe('renderRequestHeaders', () => {
  const incoming = {
    host: 'site.local',
    connection: 'keep-alive, x-hop',
    'x-hop': 'drop me',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'x-forwarded-for': '10.0.0.1',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    'server-agent': 'forged',
    'if-none-match': '"x"',
    range: 'bytes=0-1',
    'accept-encoding': 'gzip',
    cookie: 'a=1',
  };

  it('from a trusted proxy: keeps its X-Forwarded-Host/-Proto, appends the peer to X-Forwarded-For', () => {
    const h = renderRequestHeaders(incoming, { peer: '127.0.0.1', peerTrusted: true, cacheFill: false });
    assert.equal(h['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
    assert.equal(h['x-forwarded-host'], 'evil.example');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['server-agent'], 'Communique-Dispatcher');
    assert.equal(h['host'], 'site.local');
    for (const hop of ['connection', 'x-hop', 'keep-alive', 'transfer-encoding']) assert.equal(h[hop], undefined, hop);
    assert.equal(h['if-none-match'], '"x"', 'a pass-through keeps conditional headers');
  });

  it('from anyone else: X-Forwarded-Host/-Proto are replaced, not believed', () => {
    const h = renderRequestHeaders(incoming, { peer: '203.0.113.9', peerTrusted: false, cacheFill: false });
    assert.equal(h['x-forwarded-host'], 'site.local');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-for'], '10.0.0.1, 203.0.113.9');
  });

  it('a cache fill asks for the whole, unencoded page', () => {
    const h = renderRequestHeaders(incoming, { peer: '127.0.0.1', peerTrusted: true, cacheFill: true });
    for (const name of ['if-none-match', 'range', 'accept-encoding']) assert.equal(h[name], undefined, name);
    assert.equal(h['cookie'], 'a=1');
  });
  it('clientHeaders: only the listed headers pass, plus those farmgate sets and a body\'s Content-Length', () => {
    const h = renderRequestHeaders(
      { ...incoming, 'content-length': '5', 'x-debug': '1', referer: 'r' },
      { peer: '127.0.0.1', peerTrusted: false, cacheFill: false, clientHeaders: new Set(['referer', 'cookie']) },
    );
    assert.deepEqual(Object.keys(h).sort(), ['content-length', 'cookie', 'referer', 'server-agent', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
    assert.equal(h['x-forwarded-host'], 'site.local', 'from the Host, which itself does not pass');
  });
});

describe('response headers', () => {
  it('the Dispatcher header and hop-by-hop headers never reach the client', () => {
    const out = clientResponseHeaders({ dispatcher: 'no-cache', connection: 'close, x-a', 'x-a': '1', 'content-type': 'text/html', 'transfer-encoding': 'chunked' });
    assert.deepEqual(out, { 'content-type': 'text/html' });
  });
  it('with X-Accel-Redirect in use, a render cannot send its own X-Accel-* to nginx', () => {
    const from = { 'x-accel-redirect': '/_farmgate_docroot/site/.stat', 'x-accel-buffering': 'no', 'content-type': 'text/html' };
    assert.deepEqual(clientResponseHeaders(from, { stripAccel: true }), { 'content-type': 'text/html' });
    assert.equal(clientResponseHeaders(from)['x-accel-redirect'], '/_farmgate_docroot/site/.stat', 'passed through when farmgate does not use it');
  });
  it('only the listed headers are stored, every value of a repeated one', () => {
    const stored = headersToStore({ 'content-type': 'text/html', link: ['<a>', '<b>'], 'x-other': '1' }, new Set(['content-type', 'link']));
    assert.deepEqual(stored, [['content-type', 'text/html'], ['link', '<a>'], ['link', '<b>']]);
  });
  it('never what farmgate sets itself, even when listed (Content-Length, hop-by-hop, X-Cache)', () => {
    const from = { 'content-type': 'text/html', 'content-length': '10', 'transfer-encoding': 'chunked', connection: 'close', 'x-cache': 'HIT', etag: '"a"' };
    const stored = headersToStore(from, new Set(['content-type', 'content-length', 'transfer-encoding', 'connection', 'x-cache', 'etag']));
    assert.deepEqual(stored, [['content-type', 'text/html'], ['etag', '"a"']]);
  });
});
