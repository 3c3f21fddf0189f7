/** The generic webhook: the API's body and signature, with this webhook's own secret. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterFor } from '../../../src/invalidation/webhooks/adapters.js';
import { signBody } from '../../../src/invalidation/signature.js';
import { NOW, SECRET, hook, json, request } from './helpers.js';

const a = adapterFor(hook({ kind: 'generic', farms: ['site-a'] }));
const body = JSON.stringify({ tags: ['product-42'], paths: ['/content/site-a/en/page.html'], action: 'Delete' });

describe('generic webhook', () => {
  it('verifies X-Farmgate-Signature with the webhook’s secret', () => {
    assert.equal(a.verify(request(body, { 'X-Farmgate-Signature': signBody(body, SECRET) })).ok, true);
    assert.equal(a.verify(request(body, { 'X-Farmgate-Signature': signBody(body + ' ', SECRET) })).ok, false);
    assert.equal(a.verify(request(body)).ok, false);
  });

  it('maps the API body; farms outside the webhook’s farms are refused', () => {
    const r = request(body);
    assert.deepEqual(a.map(r, json(r)), { kind: 'invalidate', event: 'generic', action: 'Delete', paths: ['/content/site-a/en/page.html'], tags: ['product-42'], farms: undefined });
    const b = request({ tags: ['x'], farms: ['site-b'] });
    assert.equal(a.map(b, json(b)).kind, 'malformed');
    const bad = request({ tag: ['x'] });
    assert.equal(a.map(bad, json(bad)).kind, 'malformed');
  });

  it('an old signed ts is refused (401), a repeat of a signed ts body is a replay', () => {
    const old = request({ tags: ['x'], ts: NOW - 600_000 });
    assert.equal(a.map(old, json(old)).kind, 'refused');
    const withTs = JSON.stringify({ tags: ['x'], ts: NOW });
    const r = request(withTs, { 'X-Farmgate-Signature': signBody(withTs, SECRET), 'Idempotency-Key': 'k1' });
    assert.deepEqual(a.dedupeKey(r, json(r))!.keys.length, 2);
    const noTs = request(body, { 'X-Farmgate-Signature': signBody(body, SECRET) });
    assert.equal(a.dedupeKey(noTs, json(noTs)), undefined, 'the same invalidation sent twice on purpose is applied twice');
  });
});
