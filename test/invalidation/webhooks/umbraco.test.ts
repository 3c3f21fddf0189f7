/** Umbraco webhooks, replayed as the Umbraco docs show them (test/fixtures/webhooks.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterFor } from '../../../src/invalidation/webhooks/adapters.js';
import { UMBRACO_13_PUBLISHED, UMBRACO_14_PUBLISHED, UMBRACO_14_UNPUBLISHED, UMBRACO_DELETED, umbracoHeaders } from '../../fixtures/webhooks.js';
import { SECRET, hook, json, request } from './helpers.js';

const cfg = hook({ kind: 'umbraco', paths: ['/content/{startItem}{path}'] });
const a = adapterFor(cfg);
const signed = (event: string, retry = 0) => ({ ...umbracoHeaders(event, retry), 'X-Farmgate-Secret': SECRET });

describe('umbraco webhook', () => {
  it('verifies the secret header Umbraco is configured to send (Umbraco signs nothing)', () => {
    assert.deepEqual(a.verify(request(UMBRACO_13_PUBLISHED, signed('Umbraco.ContentPublish'))), { ok: true });
    assert.equal(a.verify(request(UMBRACO_13_PUBLISHED, umbracoHeaders('Umbraco.ContentPublish'))).ok, false);
    assert.equal(a.verify(request(UMBRACO_13_PUBLISHED, { ...umbracoHeaders('x'), 'X-Farmgate-Secret': SECRET + 'x' })).ok, false);
  });

  it('or a secret path segment', () => {
    const p = adapterFor(hook({ kind: 'umbraco', auth: 'path' }));
    assert.equal(p.verify(request({}, {}, { pathSecret: SECRET })).ok, true);
    assert.equal(p.verify(request({}, {}, { pathSecret: 'nope' })).ok, false);
    assert.equal(p.verify(request({}, { 'X-Farmgate-Secret': SECRET })).ok, false);
  });

  it('Umbraco 13 Content Published: the GUID becomes umb-<guid>, the route a path', () => {
    const r = request(UMBRACO_13_PUBLISHED, signed('Umbraco.ContentPublish'));
    assert.deepEqual(a.map(r, json(r)), {
      kind: 'invalidate',
      event: 'Umbraco.ContentPublish',
      action: 'Activate',
      paths: ['/content/root'],
      tags: ['umb-c1922956-7855-4fa0-8f2c-7af149a92135'],
      refusedPaths: [],
    });
  });

  it('Umbraco 14+ camelCase payloads and the "…Published" event spelling', () => {
    const r = request(UMBRACO_14_PUBLISHED, signed('Umbraco.ContentPublished'));
    const m = a.map(r, json(r));
    assert.equal(m.kind, 'invalidate');
    assert.deepEqual(m.kind === 'invalidate' && [m.tags, m.paths], [['umb-5ad0bc2c-5a5e-4d76-8a8e-1b1a4e0b3c11'], ['/content/root/about-us']]);
  });

  it('unpublish and delete carry only the id: the tag still reaches every page that showed it', () => {
    for (const [event, body] of [['Umbraco.ContentDelete', UMBRACO_DELETED], ['Umbraco.ContentUnpublish', UMBRACO_14_UNPUBLISHED], ['Umbraco.ContentDeleted', UMBRACO_DELETED]] as const) {
      const r = request(body, signed(event));
      const m = a.map(r, json(r));
      assert.equal(m.kind, 'invalidate', event);
      if (m.kind === 'invalidate') {
        assert.equal(m.action, 'Delete');
        assert.deepEqual(m.paths, []);
        assert.match(m.tags[0]!, /^umb-[0-9a-f-]{36}$/);
      }
    }
  });

  it('media saved and deleted tag the media item; other events are understood and ignored', () => {
    const r = request({ Id: 'AB2C0F2E-1111-4444-8888-000000000001' }, signed('Umbraco.MediaSave'));
    const m = a.map(r, json(r));
    assert.deepEqual(m.kind === 'invalidate' && [m.action, m.tags], ['Activate', ['umb-ab2c0f2e-1111-4444-8888-000000000001']]);
    const other = request({ id: 'x' }, signed('Umbraco.MemberSaved'));
    assert.equal(a.map(other, json(other)).kind, 'ignore');
  });

  it('typeTags adds umb-type-<contentType>; no event header or no id is malformed', () => {
    const t = adapterFor(hook({ kind: 'umbraco', typeTags: true }));
    const r = request(UMBRACO_14_PUBLISHED, signed('Umbraco.ContentPublish'));
    const m = t.map(r, json(r));
    assert.deepEqual(m.kind === 'invalidate' && m.tags, ['umb-5ad0bc2c-5a5e-4d76-8a8e-1b1a4e0b3c11', 'umb-type-textPage']);
    assert.equal(a.map(request({ id: 'x' }), { id: 'x' }).kind, 'malformed');
    const noId = request({ Name: 'x' }, signed('Umbraco.ContentPublish'));
    assert.equal(a.map(noId, json(noId)).kind, 'malformed');
  });

  it('a retry (umb-webhook-retrycount > 0) is checked against the first attempt; a first attempt is not', () => {
    const first = a.dedupeKey(request(UMBRACO_DELETED, signed('Umbraco.ContentDelete', 0)), UMBRACO_DELETED)!;
    const retry = a.dedupeKey(request(UMBRACO_DELETED, signed('Umbraco.ContentDelete', 2)), UMBRACO_DELETED)!;
    assert.equal(first.check, false);
    assert.equal(retry.check, true);
    assert.deepEqual(first.keys, retry.keys);
  });

  it('a route value holding .. never becomes a path', () => {
    const evil = { ...UMBRACO_14_PUBLISHED, route: { path: '/../../etc/', startItem: { path: 'root' } } };
    const r = request(evil, signed('Umbraco.ContentPublish'));
    const m = a.map(r, json(r));
    assert.deepEqual(m.kind === 'invalidate' && [m.paths, m.refusedPaths], [[], ['/content/root/../../etc/']]);
  });
});
