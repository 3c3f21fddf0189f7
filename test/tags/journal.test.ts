/** The on-disk records: round trips, and every record that could name a file outside the docroot refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOp, decodeSnapshotEntry, decodeSnapshotHeader, encodeOp, encodeSnapshotEntry, encodeSnapshotHeader, storedTags } from '../../src/tags/journal.js';
import { encodeHeaders } from '../../src/cache/sidecars.js';

describe('tag journal records', () => {
  it('round-trips every operation, tags with quotes, brackets and non-ASCII included', () => {
    const ops = [
      { op: 'set', docPath: '/content/a b/"x".html', tags: ['q"uote', '[b]', 'grün', 'x\\y'] },
      { op: 'forget', docPath: '/content/a.html' },
      { op: 'forgetUnder', docPath: '/content/en' },
    ] as const;
    for (const op of ops) {
      const line = encodeOp(op);
      assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
      assert.deepEqual(decodeOp(line.trim()), { ok: true, value: op });
    }
    assert.deepEqual(decodeSnapshotEntry(encodeSnapshotEntry('/a.html', ['t']).trim()), { ok: true, value: { docPath: '/a.html', tags: ['t'] } });
    const header = decodeSnapshotHeader(encodeSnapshotHeader('/var/cache/a', 3).trim());
    assert.deepEqual(header, { ok: true, value: { farmgateTags: 1, docroot: '/var/cache/a', files: 3 } });
  });

  it('refuses paths that leave the docroot or are not document paths', () => {
    for (const p of ['/../etc/passwd', '/content/../../x', '/./a', 'relative.html', '/a\\b', '/a\u0000b', '/', '/a/', 42]) {
      assert.equal(decodeOp(JSON.stringify(['d', p])).ok, false, `path ${JSON.stringify(p)}`);
      assert.equal(decodeSnapshotEntry(JSON.stringify([p, ['t']])).ok, false, `path ${JSON.stringify(p)}`);
    }
  });

  it('refuses bad tags, unknown records and garbage', () => {
    assert.equal(decodeOp(JSON.stringify(['s', '/a.html', ['a b']])).ok, false);
    assert.equal(decodeOp(JSON.stringify(['s', '/a.html', ['x'.repeat(1025)]])).ok, false);
    assert.equal(decodeOp(JSON.stringify(['s', '/a.html', Array.from({ length: 1001 }, (_, i) => `t${i}`)])).ok, false);
    assert.equal(decodeOp(JSON.stringify(['s', '/a.html', [1]])).ok, false);
    assert.equal(decodeOp(JSON.stringify(['x', '/a.html'])).ok, false);
    assert.equal(decodeOp('{"s":1}').ok, false);
    assert.equal(decodeOp('["s","/a.ht').ok, false);
    assert.equal(decodeSnapshotHeader('{"farmgateTags":2,"docroot":"/d","files":0}').ok, false);
  });

  it('a .h sidecar carries the tags (and no tags key for an untagged file)', () => {
    assert.equal(encodeHeaders([['Content-Type', 'text/html']]), '{"v":1,"headers":[["Content-Type","text/html"]]}');
    assert.deepEqual(storedTags(encodeHeaders([], ['a', 'b'])), ['a', 'b']);
  });

  it('reads tags from a .h sidecar, and nothing from an old or broken one', () => {
    assert.deepEqual(storedTags(JSON.stringify({ v: 1, headers: [['Content-Type', 'text/html']], tags: ['a', 'b'] })), ['a', 'b']);
    assert.deepEqual(storedTags(JSON.stringify({ v: 1, headers: [] })), []);
    assert.deepEqual(storedTags(JSON.stringify({ v: 2, tags: ['a'] })), []);
    assert.deepEqual(storedTags(JSON.stringify({ v: 1, tags: ['a b'] })), []);
    assert.deepEqual(storedTags('not json'), []);
  });
});
