/** The invalidation API body: the contract's shape, and a clear 400 (or 401) for everything else. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInvalidation } from '../../src/invalidation/request.js';

const NOW = 1_800_000_000_000;
const parse = (v: unknown) => parseInvalidation(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), { farmNames: ['site-a', 'site-b'], now: NOW });
const reason = (v: unknown) => {
  const r = parse(v);
  assert.equal(r.ok, false);
  return r.ok ? '' : `${r.error.status} ${r.error.message}`;
};

describe('invalidation request body', () => {
  it('the contract’s example, with defaults', () => {
    assert.deepEqual(parse({ paths: ['/content/site-a/en/page.html'], tags: ['product-42'] }), {
      ok: true,
      value: { action: 'Activate', paths: ['/content/site-a/en/page.html'], tags: ['product-42'], farms: undefined },
      ts: undefined,
    });
    const r = parse({ tags: ['a', 'a', 'b'], paths: ['/x/', '/x'], action: 'delete', farms: ['site-b', 'site-b'] });
    assert.deepEqual(r.ok && r.value, { action: 'Delete', paths: ['/x'], tags: ['a', 'b'], farms: ['site-b'] });
  });

  it('malformed JSON, wrong shapes and unknown keys → 400 naming the problem', () => {
    assert.match(reason('{"tags": ['), /^400 body is not JSON/);
    assert.match(reason([]), /^400/);
    assert.match(reason({ tag: ['x'] }), /^400 unknown key "tag"/);
    assert.match(reason({ tags: 'x' }), /^400 tags:/);
    assert.match(reason({}), /^400 nothing to invalidate/);
    assert.match(reason({ tags: [] , paths: [] }), /^400 nothing to invalidate/);
    assert.match(reason({ tags: ['x'], action: 'Deactivate' }), /^400 action: expected "Activate" or "Delete"/);
    assert.match(reason({ tags: ['x'], farms: ['nope'] }), /^400 farms.0: no farm named "nope"/);
    assert.match(reason({ tags: ['x'], farms: [] }), /^400 farms/);
  });

  it('paths are checked like flush handles, tags like stored tags', () => {
    assert.match(reason({ paths: ['relative.html'] }), /^400 paths.0: invalid path/);
    assert.match(reason({ paths: ['/content/../etc/passwd'] }), /^400 paths.0: .*"\.\." segment/);
    assert.match(reason({ paths: ['/content/%2e%2e/x'] }), /^400 paths.0/);
    assert.match(reason({ tags: ['ok', 'not ok'] }), /^400 tags.1: a tag cannot contain spaces/);
    assert.match(reason({ tags: ['x'.repeat(1025)] }), /^400 tags.0: a tag is at most 1024 bytes/);
  });

  it('an optional signed ts must be within five minutes (else 401: a replay)', () => {
    assert.equal(parse({ tags: ['x'], ts: NOW - 60_000 }).ok, true);
    assert.match(reason({ tags: ['x'], ts: NOW - 301_000 }), /^401 ts: signed 301 s ago/);
    assert.match(reason({ tags: ['x'], ts: NOW + 301_000 }), /^401 ts: signed 301 s in the future/);
  });
});
