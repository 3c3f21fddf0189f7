/**
 * CMS webhooks end to end: a render whose pages carry the ids of the content items they show
 * (as the README tells renders to do), and each CMS's documented payloads posted to
 * /farmgate/v1/webhooks/{name}: the pages showing an item are re-rendered after its publish,
 * unpublish or delete, the others stay cached.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '@contentful/node-apps-toolkit';
import { encodeSignatureHeader } from '@sanity/webhook';
import { CONTENTFUL_DELETED_ENTRY, OPTIMIZELY_DOC_EXPIRED, SANITY_POST, STRAPI_PUBLISH, UMBRACO_14_PUBLISHED, UMBRACO_14_UNPUBLISHED, contentfulHeaders, sanityHeaders, umbracoHeaders } from '../fixtures/webhooks.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const SECRET = 'webhook-secret-0123456789abcdef';
const CF_SECRET = 'c'.repeat(64);
const PAGES: Record<string, string> = {
  '/content/site/about-us.html': 'umb-5ad0bc2c-5a5e-4d76-8a8e-1b1a4e0b3c11',
  '/content/site/home.html': 'umb-c1922956-7855-4fa0-8f2c-7af149a92135 umb-5ad0bc2c-5a5e-4d76-8a8e-1b1a4e0b3c11',
  '/content/site/hello.html': 'contentful-5KsDBWseXY6QegucYAoacS sanity-post-2f1a',
  '/content/site/address.html': 'strapi-address-1',
  '/content/site/fi.html': 'opti-e7840ee3-3900-4c35-bc9a-9d69bf7b29af',
  '/content/site/other.html': 'unrelated',
};

const hooks = `invalidation:
  webhooks:
    - { name: umbraco, kind: umbraco, secret: "${SECRET}", paths: ["/content/site{path}"] }
    - { name: contentful, kind: contentful, secret: "${CF_SECRET}" }
    - { name: sanity, kind: sanity, secret: "${SECRET}" }
    - { name: strapi, kind: strapi, secret: "${SECRET}" }
    - { name: optimizely, kind: optimizely-graph, secret: "${SECRET}", auth: path }
`;

describe('CMS webhooks', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  const cached = async (p: string) => (await fg.request(p, { host: 'site.local' })).headers.get('x-cache');
  async function warm(): Promise<void> {
    for (const p of Object.keys(PAGES)) {
      await cached(p);
      assert.equal(await cached(p), 'HIT', p);
    }
  }
  async function send(name: string, body: unknown, headers: Record<string, string>) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fg.request(`/farmgate/v1/webhooks/${name}`, { method: 'POST', headers, body: text });
    return { status: res.status, xcache: res.headers.get('x-cache'), json: JSON.parse(await res.text()) as Record<string, unknown> };
  }

  before(async () => {
    render = await startRender((req, n) => ({ headers: { 'content-type': 'text/html', 'surrogate-key': PAGES[req.url ?? ''] ?? '' }, body: `${req.url} ${n}` }));
    fg = await startFarmgate(oneFarmYaml(render.url, {}, hooks), { admin: true });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  it('Umbraco publish re-renders every page that shows the item; unpublish (id only) too', async () => {
    await warm();
    const r = await send('umbraco', UMBRACO_14_PUBLISHED, { ...umbracoHeaders('Umbraco.ContentPublish'), 'X-Farmgate-Secret': SECRET });
    assert.equal(r.status, 200);
    assert.equal(r.xcache, null, 'webhook answers carry no X-Cache');
    assert.equal(r.json.result, 'applied');
    assert.deepEqual(r.json.paths, ['/content/site/about-us']);
    assert.equal(await cached('/content/site/about-us.html'), 'MISS');
    assert.equal(await cached('/content/site/home.html'), 'MISS', 'the home page shows the item too');
    // (The path was flushed like an AEM Activate: its .stat files make the folder's pages stale too.)
    await warm();
    const u = await send('umbraco', UMBRACO_14_UNPUBLISHED, { ...umbracoHeaders('Umbraco.ContentUnpublish'), 'X-Farmgate-Secret': SECRET });
    assert.equal(u.status, 200);
    assert.equal(await cached('/content/site/home.html'), 'MISS');
    assert.equal(await cached('/content/site/about-us.html'), 'MISS');
    assert.equal(await cached('/content/site/other.html'), 'HIT', 'a tag touches no .stat: other pages stay');
  });

  it('an Umbraco retry of an applied webhook is answered 200 and not applied again', async () => {
    await warm();
    const headers = { ...umbracoHeaders('Umbraco.ContentUnpublish', 0), 'X-Farmgate-Secret': SECRET };
    const body = { id: 'c1922956-7855-4fa0-8f2c-7af149a92135' };
    assert.equal((await send('umbraco', body, headers)).json.result, 'applied');
    await warm();
    const retry = await send('umbraco', body, { ...headers, 'umb-webhook-retrycount': '1' });
    assert.equal(retry.json.result, 'duplicate');
    assert.equal(await cached('/content/site/home.html'), 'HIT');
  });

  it('Contentful (signed by its toolkit), Sanity (signed), Strapi (bearer), Optimizely Graph (secret path)', async () => {
    await warm();
    const text = JSON.stringify(CONTENTFUL_DELETED_ENTRY);
    const headers = contentfulHeaders('ContentManagement.Entry.unpublish');
    const sig = signRequest(CF_SECRET, { method: 'POST', path: '/farmgate/v1/webhooks/contentful', headers, body: text });
    assert.equal((await send('contentful', text, { ...headers, ...sig })).status, 200);
    assert.equal(await cached('/content/site/hello.html'), 'MISS');

    await warm();
    const s = JSON.stringify(SANITY_POST);
    const sr = await send('sanity', s, { ...sanityHeaders('update'), 'sanity-webhook-signature': await encodeSignatureHeader(s, Date.now(), SECRET) });
    assert.equal(sr.status, 200);
    assert.equal(await cached('/content/site/hello.html'), 'MISS');

    assert.equal((await send('strapi', STRAPI_PUBLISH, { 'X-Strapi-Event': 'entry.publish', Authorization: `Bearer ${SECRET}` })).status, 200);
    assert.equal(await cached('/content/site/address.html'), 'MISS');

    assert.equal((await send(`optimizely/${SECRET}`, OPTIMIZELY_DOC_EXPIRED, {})).status, 200);
    assert.equal(await cached('/content/site/fi.html'), 'MISS');
  });

  it('refusals change nothing: unknown name 404, wrong secret 401, bad signature 401, not JSON 400, GET 405', async () => {
    await warm();
    assert.equal((await send('nope', {}, {})).status, 404);
    assert.equal((await send('umbraco', UMBRACO_14_PUBLISHED, { ...umbracoHeaders('Umbraco.ContentPublish'), 'X-Farmgate-Secret': 'wrong-secret-0000000000' })).status, 401);
    assert.equal((await send('optimizely/wrong', OPTIMIZELY_DOC_EXPIRED, {})).status, 401);
    assert.equal((await send('umbraco/' + SECRET, UMBRACO_14_PUBLISHED, umbracoHeaders('Umbraco.ContentPublish'))).status, 404, 'no path secret for a header webhook');
    const s = JSON.stringify(SANITY_POST);
    assert.equal((await send('sanity', s, { ...sanityHeaders('update'), 'sanity-webhook-signature': await encodeSignatureHeader(s, Date.now(), 'another-secret-000000') })).status, 401);
    assert.equal((await send('strapi', 'not json', { Authorization: `Bearer ${SECRET}` })).status, 400);
    assert.equal((await fg.request('/farmgate/v1/webhooks/strapi')).status, 405);
    for (const p of Object.keys(PAGES)) assert.equal(await cached(p), 'HIT', p);
  });

  it('understood but mapping to nothing: 200, logged and counted', async () => {
    const r = await send('umbraco', { id: 'x' }, { ...umbracoHeaders('Umbraco.MemberSaved'), 'X-Farmgate-Secret': SECRET });
    assert.equal(r.status, 200);
    assert.equal(r.json.result, 'ignored');
    const metrics = await (await fetch(`${fg.adminUrl}/metrics`)).text();
    assert.match(metrics, /farmgate_webhooks_total\{webhook="umbraco",result="ignored"\} 1/);
    assert.match(metrics, /farmgate_webhooks_total\{webhook="umbraco",result="duplicate"\} 1/);
    assert.match(metrics, /farmgate_webhooks_total\{webhook="umbraco",result="unauthorized"\} 1/);
  });
});
