/**
 * Replayed webhooks: a captured, correctly signed request sent again. Within the signature's
 * window it is recognised (idempotency key or the timestamped signature itself) and nothing is
 * done again; after the window it is refused (401). A retry with a fresh idempotency key but the
 * captured signature is still a replay.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '@contentful/node-apps-toolkit';
import { encodeSignatureHeader } from '@sanity/webhook';
import { signBody } from '../../src/invalidation/signature.js';
import { CONTENTFUL_DELETED_ENTRY, SANITY_POST, contentfulHeaders, sanityHeaders } from '../fixtures/webhooks.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const SECRET = 'replay-secret-0123456789';
const CF = 'r'.repeat(64);
const PAGE = '/content/site/p.html';

describe('replayed webhooks', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender(() => ({ headers: { 'content-type': 'text/html', 'surrogate-key': 'contentful-5KsDBWseXY6QegucYAoacS sanity-post-2f1a api-tag' }, body: 'page' }));
    fg = await startFarmgate(
      oneFarmYaml(render.url, {}, `invalidation:
  api: { secret: "${SECRET}" }
  webhooks:
    - { name: cf, kind: contentful, secret: "${CF}" }
    - { name: sanity, kind: sanity, secret: "${SECRET}" }
`),
    );
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  const cached = async () => (await fg.request(PAGE, { host: 'site.local' })).headers.get('x-cache');
  async function send(p: string, body: string, headers: Record<string, string>) {
    const res = await fg.request(p, { method: 'POST', headers, body });
    return { status: res.status, json: JSON.parse(await res.text()) as Record<string, unknown> };
  }

  it('Contentful: the same signed request again is a duplicate; with a changed idempotency key it is still one', async () => {
    await cached();
    const text = JSON.stringify(CONTENTFUL_DELETED_ENTRY);
    const headers = { ...contentfulHeaders('ContentManagement.Entry.delete') };
    const captured = { ...headers, ...signRequest(CF, { method: 'POST', path: '/farmgate/v1/webhooks/cf', headers, body: text }) };
    assert.equal((await send('/farmgate/v1/webhooks/cf', text, captured)).json.result, 'applied');
    assert.equal(await cached(), 'MISS');
    assert.equal(await cached(), 'HIT');
    assert.equal((await send('/farmgate/v1/webhooks/cf', text, captured)).json.result, 'duplicate');
    // x-contentful-idempotency-key is a signed header here: changing it breaks the signature.
    const edited = { ...captured, 'x-contentful-idempotency-key': 'f'.repeat(64) };
    assert.equal((await send('/farmgate/v1/webhooks/cf', text, edited)).status, 401);
    assert.equal(await cached(), 'HIT', 'nothing was invalidated again');
  });

  it('Sanity: a captured signature replayed with a new idempotency-key is still recognised', async () => {
    await cached();
    const s = JSON.stringify(SANITY_POST);
    const captured = { ...sanityHeaders('update'), 'sanity-webhook-signature': await encodeSignatureHeader(s, Date.now(), SECRET) };
    assert.equal((await send('/farmgate/v1/webhooks/sanity', s, captured)).json.result, 'applied');
    assert.equal(await cached(), 'MISS');
    const replay = await send('/farmgate/v1/webhooks/sanity', s, { ...captured, 'idempotency-key': 'attacker-chosen' });
    assert.equal(replay.json.result, 'duplicate');
    assert.equal(await cached(), 'HIT');
  });

  it('a signature from outside the window (captured an hour ago) is refused', async () => {
    const s = JSON.stringify(SANITY_POST);
    const old = { ...sanityHeaders('update'), 'sanity-webhook-signature': await encodeSignatureHeader(s, Date.now() - 3_600_000, SECRET) };
    assert.equal((await send('/farmgate/v1/webhooks/sanity', s, old)).status, 401);
    const text = JSON.stringify(CONTENTFUL_DELETED_ENTRY);
    const headers = contentfulHeaders('ContentManagement.Entry.delete');
    const stale = { ...headers, ...signRequest(CF, { method: 'POST', path: '/farmgate/v1/webhooks/cf', headers, body: text }, Date.now() - 3_600_000) };
    assert.equal((await send('/farmgate/v1/webhooks/cf', text, stale)).status, 401);
    assert.equal(await cached(), 'HIT');
  });

  it('the API: a body with a signed ts is applied once; an old ts is refused', async () => {
    const body = JSON.stringify({ tags: ['api-tag'], ts: Date.now() });
    const headers = { 'X-Farmgate-Signature': signBody(body, SECRET) };
    assert.equal((await send('/farmgate/v1/invalidate', body, headers)).status, 200);
    assert.equal(await cached(), 'MISS');
    assert.deepEqual((await send('/farmgate/v1/invalidate', body, headers)).json, { duplicate: true });
    assert.equal(await cached(), 'HIT');
    const old = JSON.stringify({ tags: ['api-tag'], ts: Date.now() - 600_000 });
    assert.equal((await send('/farmgate/v1/invalidate', old, { 'X-Farmgate-Signature': signBody(old, SECRET) })).status, 401);
  });
});
