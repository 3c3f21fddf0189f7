/** Tag headers → tags: separators, the 1,024-byte and 1,000-tag limits, the truncation rule. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TAG_BYTES, MAX_TAGS_PER_FILE, parseTagValues, responseTags, tagHeaderValues, tagProblem } from '../../src/tags/parse.js';

describe('tag parsing', () => {
  it('splits on spaces and commas, keeps first-seen order, counts a repeat once', () => {
    const r = parseTagValues(['page-1 nav,footer', ' nav  product-42 ,,', 'page-1']);
    assert.deepEqual(r.tags, ['page-1', 'nav', 'footer', 'product-42']);
    assert.equal(r.invalid, 0);
    assert.equal(r.overLimit, 0);
  });

  it('reads the configured headers in their order, case-insensitively, repeated headers included', () => {
    const headers = { 'cache-tag': 'c1,c2', 'surrogate-key': ['s1 s2', 's3'], xkey: 'x1', other: 'o1' };
    assert.deepEqual(tagHeaderValues(headers, ['Surrogate-Key', 'xkey', 'Cache-Tag']), ['s1 s2', 's3', 'x1', 'c1,c2']);
    assert.deepEqual(responseTags(headers, ['Cache-Tag']).tags, ['c1', 'c2']);
    assert.deepEqual(responseTags(headers, []).tags, []);
  });

  it('a tag of exactly 1,024 bytes is kept, one byte more is dropped and reported', () => {
    const ok = 'a'.repeat(MAX_TAG_BYTES);
    const long = 'b'.repeat(MAX_TAG_BYTES + 1);
    const r = parseTagValues([`${ok} ${long} page-1`]);
    assert.deepEqual(r.tags, [ok, 'page-1']);
    assert.equal(r.invalid, 1);
    assert.match(r.example ?? '', /1025 bytes/);
  });

  it('counts bytes, not characters: 512 two-byte characters fit, 513 do not', () => {
    assert.equal(tagProblem('é'.repeat(512)), undefined);
    assert.match(tagProblem('é'.repeat(513)) ?? '', /at most 1024 bytes/);
  });

  it('keeps the first 1,000 distinct tags and drops the rest (the rule for an oversized header)', () => {
    const many = Array.from({ length: 1500 }, (_, i) => `t${i}`);
    const r = parseTagValues([`own-page ${many.join(' ')}`]);
    assert.equal(r.tags.length, MAX_TAGS_PER_FILE);
    assert.equal(r.tags[0], 'own-page');
    assert.equal(r.tags.at(-1), 't998');
    assert.equal(r.overLimit, 501);
  });

  it('re-reads UTF-8 tags that arrive as latin1 header text', () => {
    const latin1 = Buffer.from('produkt-grün', 'utf8').toString('latin1');
    assert.deepEqual(responseTags({ 'surrogate-key': latin1 }, ['Surrogate-Key']).tags, ['produkt-grün']);
  });

  it('tagProblem holds API tags to the same rule', () => {
    assert.equal(tagProblem('product-42'), undefined);
    assert.equal(tagProblem('umb-c1922956-7855-4fa0-8f2c-7af149a92135'), undefined);
    assert.match(tagProblem('') ?? '', /empty/);
    assert.match(tagProblem('a b') ?? '', /spaces or commas/);
    assert.match(tagProblem('a,b') ?? '', /spaces or commas/);
    assert.match(tagProblem('a\u0001b') ?? '', /control/);
  });
});
