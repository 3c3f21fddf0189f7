/**
 * Contentful webhooks, signed by Contentful's own signer (@contentful/node-apps-toolkit
 * `signRequest`), replayed with the documented payloads and headers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signRequest } from '@contentful/node-apps-toolkit';
import { adapterFor } from '../../../src/invalidation/webhooks/adapters.js';
import { CONTENTFUL_DELETED_ENTRY, CONTENTFUL_ENTRY_PUBLISH, contentfulHeaders } from '../../fixtures/webhooks.js';
import { NOW, hook, json, request } from './helpers.js';

/** Contentful signing secrets are exactly 64 characters (contentful.com/developers/docs/webhooks/secrets). */
const SIGNING_SECRET = 'k'.repeat(32) + '0123456789abcdefghijklmnopqrstuv';
const URL = '/farmgate/v1/webhooks/cms';
const cfg = hook({ kind: 'contentful', secret: SIGNING_SECRET, paths: ['/content/site-a/{locale}/{slug}'] });
const a = adapterFor(cfg);

function signed(body: unknown, topic: string, at = NOW, secret = SIGNING_SECRET) {
  const text = JSON.stringify(body);
  const headers = contentfulHeaders(topic);
  const sig = signRequest(secret, { method: 'POST', path: URL, headers, body: text }, at);
  return request(text, { ...headers, ...sig });
}

describe('contentful webhook', () => {
  it('verifies a request signed by Contentful’s own signer', () => {
    const r = signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish');
    assert.ok(r.headers['x-contentful-signed-headers']);
    assert.deepEqual(a.verify(r), { ok: true });
  });

  it('refuses a changed body, a changed signed header, another secret, a missing signature', () => {
    const r = signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish');
    assert.equal(a.verify({ ...r, body: Buffer.from(r.body.toString().replace('Hello', 'Hallo')) }).ok, false);
    assert.equal(a.verify({ ...r, headers: { ...r.headers, 'x-contentful-topic': 'ContentManagement.Entry.delete' } }).ok, false);
    assert.equal(a.verify(signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish', NOW, 'z'.repeat(64))).ok, false);
    const { ['x-contentful-signature']: _s, ...unsigned } = r.headers;
    assert.match((a.verify({ ...r, headers: unsigned }) as { reason: string }).reason, /missing x-contentful-signature/);
  });

  it('refuses a signature older than maxAgeMs (a replay) or from the future', () => {
    assert.match((a.verify(signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish', NOW - 301_000)) as { reason: string }).reason, /replayed or delayed/);
    assert.equal(a.verify(signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish', NOW - 299_000)).ok, true);
    assert.equal(a.verify(signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish', NOW + 400_000)).ok, false);
  });

  it('Entry.publish: tag contentful-<id>, one path per locale of the slug', () => {
    const r = signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish');
    assert.deepEqual(a.map(r, json(r)), {
      kind: 'invalidate',
      event: 'ContentManagement.Entry.publish',
      action: 'Activate',
      paths: ['/content/site-a/en-US/hello-world', '/content/site-a/de/hallo-welt'],
      tags: ['contentful-5KsDBWseXY6QegucYAoacS'],
      refusedPaths: [],
    });
  });

  it('unpublish and delete send a tombstone without fields: the id tag still reaches the pages', () => {
    for (const topic of ['ContentManagement.Entry.unpublish', 'ContentManagement.Entry.delete', 'ContentManagement.Asset.delete']) {
      const r = signed(CONTENTFUL_DELETED_ENTRY, topic);
      const m = a.map(r, json(r));
      assert.deepEqual(m.kind === 'invalidate' && [m.action, m.paths, m.tags], ['Delete', [], ['contentful-5KsDBWseXY6QegucYAoacS']], topic);
    }
  });

  it('saves, auto-saves and content type changes are understood and ignored; other environments too', () => {
    for (const topic of ['ContentManagement.Entry.save', 'ContentManagement.Entry.auto_save', 'ContentManagement.ContentType.publish']) {
      const r = signed(CONTENTFUL_ENTRY_PUBLISH, topic);
      assert.equal(a.map(r, json(r)).kind, 'ignore', topic);
    }
    const staging = adapterFor(hook({ kind: 'contentful', secret: SIGNING_SECRET, environments: ['staging'] }));
    const r = signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish');
    assert.equal(staging.map(r, json(r)).kind, 'ignore');
    assert.equal(a.map(request('{}', { 'x-contentful-topic': 'garbage' }), {}).kind, 'malformed');
  });

  it('dedupes by X-Contentful-Idempotency-Key and by the signature itself', () => {
    const r = signed(CONTENTFUL_ENTRY_PUBLISH, 'ContentManagement.Entry.publish');
    const d = a.dedupeKey(r, json(r))!;
    assert.equal(d.check, true);
    assert.equal(d.keys.length, 2);
    assert.match(d.keys[0]!, /^contentful:a3f1/);
  });
});
