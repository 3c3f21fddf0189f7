/**
 * The hot layer: a byte budget, least recently used out first, bodies that own their memory, and
 * a folder's entries dropped at once (a flush of a folder).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HotLayer } from '../../src/cache/hot-layer.js';
import type { CachedFile } from '../../src/cache/store.js';

const entry = (absPath: string, body = 'x'.repeat(100)): CachedFile => ({
  absPath,
  mtimeMs: 1,
  size: body.length,
  headers: [['content-type', 'text/html']],
  ttlExpiresMs: undefined,
  body: Buffer.from(body),
  checkedAt: 0,
});

describe('HotLayer', () => {
  it('keeps within its byte budget, evicting the least recently used', () => {
    const hot = new HotLayer(5000, 1000);
    for (let i = 0; i < 10; i++) hot.set(entry(`/d/${i}.html`));
    assert.ok(hot.bytes <= 5000, `${hot.bytes} bytes`);
    assert.ok(hot.size < 10);
    assert.equal(hot.get('/d/0.html'), undefined, 'the oldest went first');
    assert.ok(hot.get('/d/9.html'));
  });

  it('a get refreshes recency', () => {
    const hot = new HotLayer(5000, 1000); // about three entries
    hot.set(entry('/d/a.html'));
    hot.set(entry('/d/b.html'));
    hot.get('/d/a.html');
    for (let i = 0; i < 2; i++) hot.set(entry(`/d/n${i}.html`));
    assert.ok(hot.get('/d/a.html'), 'recently read: kept');
    assert.equal(hot.get('/d/b.html'), undefined);
  });

  it('keeps metadata without the body above maxEntryBytes, and copies pooled slices', () => {
    const hot = new HotLayer(1 << 20, 10);
    hot.set(entry('/d/big.html', 'y'.repeat(50)));
    assert.equal(hot.get('/d/big.html')?.body, undefined);
    const slab = Buffer.from('0123456789abcdef');
    hot.set({ ...entry('/d/slice.html'), body: slab.subarray(0, 4), size: 4 });
    const kept = hot.get('/d/slice.html')!.body!;
    assert.equal(kept.toString(), '0123');
    assert.equal(kept.buffer.byteLength, 4, 'owns its memory: the slab is not kept alive');
  });

  it('deleteUnder drops a folder and everything below it, not its neighbours', () => {
    const hot = new HotLayer(1 << 20, 1000);
    for (const p of ['/d/f/a.html', '/d/f/g/b.html', '/d/fx.html', '/d/other/c.html']) hot.set(entry(p));
    hot.deleteUnder('/d/f');
    assert.deepEqual(['/d/f/a.html', '/d/f/g/b.html', '/d/fx.html', '/d/other/c.html'].map((p) => hot.get(p) !== undefined), [false, false, true, true]);
    const before = hot.bytes;
    hot.delete('/d/fx.html');
    assert.ok(hot.bytes < before);
  });
});
