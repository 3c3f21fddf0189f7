/**
 * Writing answers without sockets: cached files with their replayed headers, 304s, HEAD, plain-text
 * errors, X-Accel-Redirect hand-offs, and back-pressure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CachedFile } from '../../src/cache/store.js';
import { AppError } from '../../src/errors.js';
import { sendAccel, sendCached, sendError, writeChunk } from '../../src/serve/send.js';
import { FakeResponse, type FakeRequestInit } from '../fakes/http.js';

const file = (headers: [string, string][] = [], absPath = '/d/content/p.html'): CachedFile => ({
  absPath,
  mtimeMs: 1_700_000_000_000,
  size: 5,
  headers,
  ttlExpiresMs: undefined,
  body: Buffer.from('hello'),
  checkedAt: 0,
});

function answer(init: Partial<FakeRequestInit>, f: CachedFile, cache: 'HIT' | 'STALE' | 'MISS' = 'HIT') {
  const { res, fake } = FakeResponse.for({ url: '/content/p.html', ...init });
  void sendCached(res, f, cache);
  return fake;
}

describe('send', () => {
  it('replays the stored headers with X-Cache and Content-Length', () => {
    const r = answer({}, file([['content-type', 'text/html'], ['etag', '"e1"'], ['x-multi', 'a'], ['x-multi', 'b']]));
    assert.equal(r.statusCode, 200);
    assert.equal(r.header('x-cache'), 'HIT');
    assert.equal(r.header('content-length'), '5');
    assert.equal(r.header('etag'), '"e1"');
    assert.equal(r.header('x-multi'), 'a, b');
    assert.equal(r.body, 'hello');
  });

  it('guesses Content-Type from the extension when none was stored', () => {
    assert.equal(answer({}, file([], '/d/a.css')).header('content-type'), 'text/css; charset=utf-8');
    assert.equal(answer({}, file([], '/d/a.unknownext')).header('content-type'), 'application/octet-stream');
  });

  it('answers 304 to a matching If-None-Match or If-Modified-Since, with X-Cache', () => {
    const f = file([['etag', 'W/"e1"'], ['last-modified', 'Tue, 14 Nov 2023 00:00:00 GMT']]);
    const inm = answer({ headers: { 'if-none-match': '"e0", "e1"' } }, f);
    assert.deepEqual([inm.statusCode, inm.body, inm.header('x-cache')], [304, '', 'HIT']);
    const ims = answer({ headers: { 'if-modified-since': 'Wed, 15 Nov 2023 00:00:00 GMT' } }, file([['last-modified', 'Tue, 14 Nov 2023 00:00:00 GMT']]));
    assert.equal(ims.statusCode, 304);
    const changed = answer({ headers: { 'if-none-match': '"other"' } }, f);
    assert.equal(changed.statusCode, 200);
  });

  it('HEAD gets the headers only; STALE is labelled', () => {
    const head = answer({ method: 'HEAD' }, file(), 'STALE');
    assert.deepEqual([head.body, head.header('x-cache'), head.header('content-length')], ['', 'STALE', '5']);
  });

  it('errors are short plain text with the status; after the headers the socket is cut', () => {
    const { res, fake } = FakeResponse.for({ url: '/x' });
    sendError(res, new AppError('FG_RENDER_TIMEOUT', 'render timed out'), 'MISS');
    assert.deepEqual([fake.statusCode, fake.body, fake.header('x-cache'), fake.header('content-type')], [504, '504 render timed out\n', 'MISS', 'text/plain; charset=utf-8']);
    const late = FakeResponse.for({ url: '/x' });
    late.res.writeHead(200);
    sendError(late.res, new AppError('FG_RENDER_BAD_RESPONSE'), 'MISS');
    assert.equal(late.fake.destroyed, true);
  });

  it('X-Accel-Redirect: handed to nginx only when nginx can replay every stored header', () => {
    const ok = FakeResponse.for({ url: '/content/p.html' });
    assert.equal(sendAccel(ok.res, file([['content-type', 'text/html']]), '/_fg/site/content/p.html', '/content/p.html'), true);
    assert.deepEqual([ok.fake.header('x-accel-redirect'), ok.fake.header('content-length'), ok.fake.body], ['/_fg/site/content/p.html', '0', '']);
    const custom = FakeResponse.for({ url: '/content/p.html' });
    assert.equal(sendAccel(custom.res, file([['x-custom', '1']]), '/_fg/site/content/p.html', '/content/p.html'), false);
    const conditional = FakeResponse.for({ url: '/content/p.html', headers: { 'if-none-match': '"a"' } });
    assert.equal(sendAccel(conditional.res, file(), '/t', '/content/p.html'), false);
    const odd = FakeResponse.for({ url: '/content/p q.html' });
    assert.equal(sendAccel(odd.res, file(), '/t', '/content/p q.html'), false, 'a path nginx would decode again');
    assert.equal(custom.fake.headersSent || conditional.fake.headersSent || odd.fake.headersSent, false, 'nothing written when refused');
  });

  it('writeChunk waits for drain, and resolves false once the client is gone', async () => {
    const { res, fake } = FakeResponse.for({ url: '/x' });
    assert.equal(writeChunk(res, Buffer.from('a')), true);
    fake.destroy();
    assert.equal(writeChunk(res, Buffer.from('b')), false);
  });
});
