/** Optimizely Graph webhooks, replayed from Optimizely's "Webhooks" and "Webhook response" pages. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterFor } from '../../../src/invalidation/webhooks/adapters.js';
import { parseDocId } from '../../../src/invalidation/webhooks/optimizely-graph.js';
import { OPTIMIZELY_BULK_DELETED, OPTIMIZELY_BULK_INDEXED, OPTIMIZELY_BULK_NO_ITEMS, OPTIMIZELY_DOC_EXPIRED } from '../../fixtures/webhooks.js';
import { SECRET, hook, json, request } from './helpers.js';

const a = adapterFor(hook({ kind: 'optimizely-graph' }));
const sent = (body: unknown) => request(body, { 'X-Farmgate-Secret': SECRET });

describe('optimizely graph webhook', () => {
  it('docId is <GUID>_<lang>_<status>', () => {
    assert.deepEqual(parseDocId('a80fe5b4-9ed8-45e3-962f-e6e136ef971c_pt-BR_Published'), { guid: 'a80fe5b4-9ed8-45e3-962f-e6e136ef971c', lang: 'pt-BR', status: 'Published' });
    assert.equal(parseDocId('not-a-guid_en_Published'), undefined);
    assert.equal(parseDocId('e7840ee3-3900-4c35-bc9a-9d69bf7b29af'), undefined);
  });

  it('doc.expired → opti-<guid>, Delete', () => {
    const r = sent(OPTIMIZELY_DOC_EXPIRED);
    assert.deepEqual(a.map(r, json(r)), { kind: 'invalidate', event: 'doc.expired', action: 'Delete', paths: [], tags: ['opti-e7840ee3-3900-4c35-bc9a-9d69bf7b29af'], refusedPaths: [] });
  });

  it('bulk.completed: one tag per item; all deleted → Delete, else Activate', () => {
    const r = sent(OPTIMIZELY_BULK_INDEXED);
    const m = a.map(r, json(r));
    assert.deepEqual(m.kind === 'invalidate' && [m.action, m.tags], ['Activate', ['opti-e7840ee3-3900-4c35-bc9a-9d69bf7b29af', 'opti-730bbb9c-5959-44fc-ac2c-becce4cb075d']]);
    const d = sent(OPTIMIZELY_BULK_DELETED);
    const n = a.map(d, json(d));
    assert.deepEqual(n.kind === 'invalidate' && [n.action, n.tags.length], ['Delete', 2]);
  });

  it('drafts and bulk events without items are understood and map to nothing', () => {
    const draft = sent({ ...OPTIMIZELY_DOC_EXPIRED, data: { docId: 'e7840ee3-3900-4c35-bc9a-9d69bf7b29af_en_Draft' } });
    assert.equal(a.map(draft, json(draft)).kind, 'ignore');
    const bulk = sent(OPTIMIZELY_BULK_NO_ITEMS);
    assert.equal(a.map(bulk, json(bulk)).kind, 'ignore');
    assert.equal(a.map(sent({ data: {} }), { data: {} }).kind, 'malformed');
  });

  it('verifies the secret header it was registered with; dedupes by the event id', () => {
    assert.equal(a.verify(sent(OPTIMIZELY_DOC_EXPIRED)).ok, true);
    assert.equal(a.verify(request(OPTIMIZELY_DOC_EXPIRED)).ok, false);
    assert.deepEqual(a.dedupeKey(sent(OPTIMIZELY_DOC_EXPIRED), OPTIMIZELY_DOC_EXPIRED), { keys: ['optimizely-graph:evt-7b1d'], check: true });
  });
});
