/** Sanity webhooks, signed by Sanity's own toolkit (@sanity/webhook `encodeSignatureHeader`). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSignatureHeader } from '@sanity/webhook';
import { adapterFor } from '../../../src/invalidation/webhooks/adapters.js';
import { SANITY_POST, sanityHeaders } from '../../fixtures/webhooks.js';
import { NOW, SECRET, hook, json, request } from './helpers.js';

const a = adapterFor(hook({ kind: 'sanity', paths: ['/content/site-a/blog/{slug}'], typeTags: true }));

async function signed(body: unknown, op: 'create' | 'update' | 'delete', at = NOW, id?: string) {
  const text = JSON.stringify(body);
  return request(text, { ...sanityHeaders(op, id), 'sanity-webhook-signature': await encodeSignatureHeader(text, at, SECRET) });
}

describe('sanity webhook', () => {
  it('verifies the sanity-webhook-signature the toolkit makes, and refuses a changed body or old timestamp', async () => {
    const r = await signed(SANITY_POST, 'update');
    assert.match(String(r.headers['sanity-webhook-signature']), /^t=\d+,v1=[A-Za-z0-9_-]+$/);
    assert.deepEqual(a.verify(r), { ok: true });
    assert.equal(a.verify({ ...r, body: Buffer.from(r.body.toString().replace('Hello', 'Hallo')) }).ok, false);
    assert.equal(a.verify(await signed(SANITY_POST, 'update', NOW - 10 * 60_000)).ok, false);
    assert.equal(a.verify(request(SANITY_POST, sanityHeaders('update'))).ok, false);
    assert.equal(a.verify({ ...r, headers: { ...r.headers, 'sanity-webhook-signature': 'v1=abc' } }).ok, false);
  });

  it('update and create: sanity-<id>, a type tag, the slug path; delete: the same tags, action Delete', async () => {
    const r = await signed(SANITY_POST, 'update');
    assert.deepEqual(a.map(r, json(r)), {
      kind: 'invalidate',
      event: 'sanity.update',
      action: 'Activate',
      paths: ['/content/site-a/blog/hello'],
      tags: ['sanity-post-2f1a', 'sanity-type-post'],
      refusedPaths: [],
    });
    const d = await signed({ _id: 'post-2f1a' }, 'delete');
    const m = a.map(d, json(d));
    assert.deepEqual(m.kind === 'invalidate' && [m.action, m.tags, m.paths], ['Delete', ['sanity-post-2f1a'], []]);
  });

  it('drafts do not change the published site', async () => {
    const r = await signed({ ...SANITY_POST, _id: 'drafts.post-2f1a' }, 'update', NOW, 'drafts.post-2f1a');
    assert.equal(a.map(r, json(r)).kind, 'ignore');
  });

  it('dedupes by idempotency-key and by the timestamped signature', async () => {
    const r = await signed(SANITY_POST, 'update');
    const d = a.dedupeKey(r, json(r))!;
    assert.deepEqual(d.keys[0], 'sanity:idem-update-post-2f1a');
    assert.match(d.keys[1]!, /^sanity-sig:t=/);
  });
});
