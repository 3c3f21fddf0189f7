import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRange, ifRangeMatches } from '../../src/serve/range.js';

describe('decideRange', () => {
  const r = (v: string | undefined, size = 100) => decideRange(v, size);
  it('no header or anything malformed: the whole file', () => {
    for (const v of [undefined, 'bytes=', 'bytes=-', 'items=0-1', 'bytes=a-b', 'bytes=0-1,5-6', 'bytes=5-2', 'bytes = 0-1']) {
      assert.deepEqual(r(v), { kind: 'full' }, String(v));
    }
  });
  it('one range: start-end, start-, suffix; the end clamped to the file', () => {
    assert.deepEqual(r('bytes=0-9'), { kind: 'partial', start: 0, end: 9 });
    assert.deepEqual(r('bytes=90-'), { kind: 'partial', start: 90, end: 99 });
    assert.deepEqual(r('bytes=90-1000'), { kind: 'partial', start: 90, end: 99 });
    assert.deepEqual(r('bytes=-10'), { kind: 'partial', start: 90, end: 99 });
    assert.deepEqual(r('bytes=-1000'), { kind: 'partial', start: 0, end: 99 });
    assert.deepEqual(r('bytes=0-99'), { kind: 'partial', start: 0, end: 99 });
  });
  it('unsatisfiable: a start at or past the end, an empty suffix', () => {
    assert.deepEqual(r('bytes=100-'), { kind: 'unsatisfiable' });
    assert.deepEqual(r('bytes=100-200'), { kind: 'unsatisfiable' });
    assert.deepEqual(r('bytes=-0'), { kind: 'unsatisfiable' });
  });
});

describe('ifRangeMatches', () => {
  it('absent: the range applies', () => assert.equal(ifRangeMatches(undefined, undefined, undefined), true));
  it('a strong entity tag must equal the stored one', () => {
    assert.equal(ifRangeMatches('"a"', '"a"', undefined), true);
    assert.equal(ifRangeMatches('"a"', '"b"', undefined), false);
    assert.equal(ifRangeMatches('W/"a"', 'W/"a"', undefined), false);
    assert.equal(ifRangeMatches('"a"', undefined, undefined), false);
  });
  it('a date must equal the stored Last-Modified exactly', () => {
    const lm = 'Tue, 01 Dec 2026 10:00:00 GMT';
    assert.equal(ifRangeMatches(lm, undefined, lm), true);
    assert.equal(ifRangeMatches('Tue, 01 Dec 2026 10:00:01 GMT', undefined, lm), false);
  });
});
