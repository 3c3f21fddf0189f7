/** Strapi webhooks, replayed verbatim from the Strapi documentation's example payloads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterFor } from '../../../src/invalidation/webhooks/adapters.js';
import { STRAPI_5_PUBLISH, STRAPI_DELETE, STRAPI_MEDIA_DELETE, STRAPI_PUBLISH, STRAPI_UNPUBLISH, STRAPI_UPDATE } from '../../fixtures/webhooks.js';
import { SECRET, hook, json, request } from './helpers.js';

const a = adapterFor(hook({ kind: 'strapi', paths: ['/content/site-a/{model}/{slug}'] }));
const sent = (body: { event: string }) => request(body, { 'X-Strapi-Event': body.event, Authorization: `Bearer ${SECRET}` });

describe('strapi webhook', () => {
  it('verifies Authorization: Bearer <secret> (Strapi’s documented way), not a wrong or missing one', () => {
    assert.equal(a.verify(sent(STRAPI_PUBLISH)).ok, true);
    assert.equal(a.verify(request(STRAPI_PUBLISH, { Authorization: 'Bearer wrong-token-0123456789' })).ok, false);
    assert.equal(a.verify(request(STRAPI_PUBLISH, {})).ok, false);
  });

  it('entry.publish → strapi-<model>-<id>; unpublish and delete → Delete', () => {
    const r = sent(STRAPI_PUBLISH);
    assert.deepEqual(a.map(r, json(r)), { kind: 'invalidate', event: 'entry.publish', action: 'Activate', paths: [], tags: ['strapi-address-1'], refusedPaths: [] });
    for (const body of [STRAPI_UNPUBLISH, STRAPI_DELETE]) {
      const d = sent(body);
      const m = a.map(d, json(d));
      assert.deepEqual(m.kind === 'invalidate' && [m.action, m.tags], ['Delete', ['strapi-address-1']]);
    }
  });

  it('Strapi 5: the stable documentId, and the slug path', () => {
    const r = sent(STRAPI_5_PUBLISH);
    const m = a.map(r, json(r));
    assert.deepEqual(m.kind === 'invalidate' && [m.tags, m.paths], [['strapi-article-hgv1vny5cebq2l3czil1rpb3'], ['/content/site-a/article/hello']]);
  });

  it('with draftAndPublish (default) a draft update is ignored; without, it invalidates', () => {
    const r = sent(STRAPI_UPDATE);
    assert.equal(a.map(r, json(r)).kind, 'ignore');
    const plain = adapterFor(hook({ kind: 'strapi', draftAndPublish: false }));
    assert.equal(plain.map(r, json(r)).kind, 'invalidate');
  });

  it('media.delete tags strapi-media-<id>; trigger-test and media.create are ignored', () => {
    const r = sent(STRAPI_MEDIA_DELETE);
    const m = a.map(r, json(r));
    assert.deepEqual(m.kind === 'invalidate' && [m.action, m.tags], ['Delete', ['strapi-media-11']]);
    const t = sent({ event: 'trigger-test' } as never);
    assert.equal(a.map(t, json(t)).kind, 'ignore');
    const c = sent({ ...STRAPI_MEDIA_DELETE, event: 'media.create' });
    assert.equal(a.map(c, json(c)).kind, 'ignore');
    assert.equal(a.dedupeKey(r, json(r)), undefined, 'Strapi does not retry');
  });
});
