/**
 * Forged signatures: whoever does not hold the secret cannot invalidate anything, through the API
 * or any webhook kind. Each forgery gets 401 and the cache is left exactly as it was (every page
 * still a HIT, no render request).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '@contentful/node-apps-toolkit';
import { encodeSignatureHeader } from '@sanity/webhook';
import { signBody } from '../../src/invalidation/signature.js';
import { CONTENTFUL_DELETED_ENTRY, SANITY_POST, contentfulHeaders, sanityHeaders } from '../fixtures/webhooks.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const SECRET = 'the-real-secret-0123456789';
const WRONG = 'a-guessed-secret-987654321';
const CF = 'f'.repeat(64);
const PAGE = '/content/site/p.html';

describe('forged signatures', () => {
  let render: TestRender;
  let fg: TestFarmgate;
  before(async () => {
    render = await startRender(() => ({ headers: { 'content-type': 'text/html', 'surrogate-key': 'victim contentful-5KsDBWseXY6QegucYAoacS sanity-post-2f1a' }, body: 'page' }));
    fg = await startFarmgate(
      oneFarmYaml(render.url, {}, `invalidation:
  api: { secret: "${SECRET}" }
  webhooks:
    - { name: cf, kind: contentful, secret: "${CF}" }
    - { name: sanity, kind: sanity, secret: "${SECRET}" }
    - { name: generic, kind: generic, secret: "${SECRET}" }
`),
    );
    await fg.request(PAGE, { host: 'site.local' });
  });
  after(async () => {
    await fg.close();
    await render.close();
  });

  async function untouched(): Promise<void> {
    const before = render.count(PAGE);
    assert.equal((await fg.request(PAGE, { host: 'site.local' })).headers.get('x-cache'), 'HIT');
    assert.equal(render.count(PAGE), before);
  }
  const post = async (p: string, body: string, headers: Record<string, string>) => (await fg.request(p, { method: 'POST', headers, body })).status;

  it('the API: no signature, a wrong key, a truncated or non-hex signature, md5/sha1 instead of sha256, a body edited after signing', async () => {
    const body = JSON.stringify({ tags: ['victim'] });
    const hex = createHmac('sha256', SECRET).update(body).digest('hex');
    for (const headers of [
      {} as Record<string, string>,
      { 'X-Farmgate-Signature': signBody(body, WRONG) },
      { 'X-Farmgate-Signature': `sha256=${hex.slice(0, 63)}` },
      { 'X-Farmgate-Signature': `sha256=${'z'.repeat(64)}` },
      { 'X-Farmgate-Signature': `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}` },
      { 'X-Farmgate-Signature': hex },
      { 'X-Farmgate-Signature': `sha256=${createHmac('sha256', '').update(body).digest('hex')}` },
    ]) {
      assert.equal(await post('/farmgate/v1/invalidate', body, headers), 401, JSON.stringify(headers));
    }
    assert.equal(await post('/farmgate/v1/invalidate', JSON.stringify({ tags: ['victim'], farms: ['site'] }), { 'X-Farmgate-Signature': signBody(body, SECRET) }), 401);
    await untouched();
  });

  it('Contentful: another signing secret, a signed header changed, the signature of another request', async () => {
    const text = JSON.stringify(CONTENTFUL_DELETED_ENTRY);
    const headers = contentfulHeaders('ContentManagement.Entry.delete');
    const path = '/farmgate/v1/webhooks/cf';
    const wrong = signRequest('w'.repeat(64), { method: 'POST', path, headers, body: text });
    assert.equal(await post(path, text, { ...headers, ...wrong }), 401);
    const good = signRequest(CF, { method: 'POST', path, headers, body: text });
    assert.equal(await post(path, text, { ...headers, ...good, 'x-contentful-topic': 'ContentManagement.Entry.publish' }), 401);
    const other = signRequest(CF, { method: 'POST', path: '/elsewhere', headers, body: text });
    assert.equal(await post(path, text, { ...headers, ...other }), 401);
    await untouched();
  });

  it('Sanity: another secret, a signature moved to another body, a missing header', async () => {
    const s = JSON.stringify(SANITY_POST);
    assert.equal(await post('/farmgate/v1/webhooks/sanity', s, { ...sanityHeaders('delete'), 'sanity-webhook-signature': await encodeSignatureHeader(s, Date.now(), WRONG) }), 401);
    const sig = await encodeSignatureHeader('{"_id":"other"}', Date.now(), SECRET);
    assert.equal(await post('/farmgate/v1/webhooks/sanity', s, { ...sanityHeaders('delete'), 'sanity-webhook-signature': sig }), 401);
    assert.equal(await post('/farmgate/v1/webhooks/sanity', s, sanityHeaders('delete')), 401);
    await untouched();
  });

  it('generic: the API secret is not this webhook’s key (a webhook has its own secret)', async () => {
    const body = JSON.stringify({ tags: ['victim'] });
    assert.equal(await post('/farmgate/v1/webhooks/generic', body, { 'X-Farmgate-Signature': signBody(body, WRONG) }), 401);
    await untouched();
  });
});
