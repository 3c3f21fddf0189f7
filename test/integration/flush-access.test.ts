/**
 * Who may flush: allowedClients (403, nothing done, logged with the address, counted) and
 * X-Forwarded-For believed only from trustedProxies. The test client is always 127.0.0.1; the
 * configs decide whether that peer is a trusted proxy.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { makeConfig, seed, tempDir, tree } from '../helpers/flush-fixtures.js';
import { sendFlush, startFlushServer, type FlushServer } from '../helpers/flush-server.js';

const FILES = ['/content/site/en/page.html', '/content/site/en.html'];
let base: string;
let docroot: string;
let srv: FlushServer | undefined;

before(async () => {
  base = await tempDir();
  docroot = path.join(base, 'docroot');
  await seed(docroot, FILES);
});
after(async () => fs.rm(base, { recursive: true, force: true }));
afterEach(async () => srv?.close());

async function start(allowedClients: string[], trustedProxies: string[]) {
  srv = await startFlushServer(
    makeConfig({ allowedClients, trustedProxies, farms: [{ name: 'site', docroot, statfileslevel: 2, flushRoutes: ['/content/**'] }] }),
  );
  return srv;
}

async function assertUntouched() {
  assert.deepEqual(await tree(docroot), FILES.slice().sort());
}

describe('allowedClients', () => {
  it('a client outside allowedClients → 403, nothing done, warned with the address, counted', async () => {
    const s = await start(['10.9.9.9', '2001:db8::/32'], []);
    const r = await sendFlush(s, { 'CQ-Handle': '/content/site/en/page', 'CQ-Path': '/content/site/en/page' });
    assert.equal(r.status, 403);
    assert.match(r.text, /flush not allowed from 127\.0\.0\.1/);
    await assertUntouched();
    const warn = s.logs.find((l) => l.level === 40 && l.client === '127.0.0.1');
    assert.ok(warn, 'logged at warn with the address');
    assert.match(warn.msg, /flushing rejected from 127\.0\.0\.1/);
    assert.match(await s.metrics.registry.metrics(), /farmgate_flush_rejected_total\{reason="forbidden"\} 1/);
  });

  it('the client check comes before validation: a bad handle from a stranger is 403, not 400', async () => {
    const s = await start(['10.9.9.9'], []);
    const r = await sendFlush(s, { 'CQ-Action': 'Nope', 'CQ-Handle': '/content/../etc' });
    assert.equal(r.status, 403);
  });

  it('CIDRs: 127.0.0.0/8 lets the loopback peer in', async () => {
    const s = await start(['127.0.0.0/8'], []);
    const r = await sendFlush(s, { 'CQ-Action': 'Test', 'CQ-Handle': '/content/site' });
    assert.equal(r.status, 200);
  });
});

describe('X-Forwarded-For (spoofing)', () => {
  it('an untrusted peer sending X-Forwarded-For of an allowed IP is still refused', async () => {
    const s = await start(['203.0.113.5'], ['10.0.0.1']);
    const r = await sendFlush(s, { 'CQ-Handle': '/content/site/en/page', 'X-Forwarded-For': '203.0.113.5' });
    assert.equal(r.status, 403);
    assert.match(r.text, /127\.0\.0\.1/);
    await assertUntouched();
  });

  it('a trusted proxy forwarding a disallowed client is refused', async () => {
    const s = await start(['203.0.113.5'], ['127.0.0.1']);
    const r = await sendFlush(s, { 'CQ-Handle': '/content/site/en/page', 'X-Forwarded-For': '198.51.100.1' });
    assert.equal(r.status, 403);
    assert.match(r.text, /198\.51\.100\.1/);
    await assertUntouched();
  });

  it('a client who puts an allowed IP in front of the chain a trusted proxy appends to is refused', async () => {
    const s = await start(['203.0.113.5'], ['127.0.0.1']);
    const r = await sendFlush(s, { 'CQ-Handle': '/content/site/en/page', 'X-Forwarded-For': '203.0.113.5, 198.51.100.1' });
    assert.equal(r.status, 403);
    await assertUntouched();
  });

  it('a trusted proxy forwarding an allowed client is let in', async () => {
    const s = await start(['203.0.113.5'], ['127.0.0.1', '10.0.0.0/8']);
    const r = await sendFlush(s, {
      'CQ-Action': 'Test',
      'CQ-Handle': '/content/site/en/page',
      'X-Forwarded-For': '6.6.6.6, 203.0.113.5, 10.1.2.3',
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-farmgate-farms'), 'site');
  });

  it('a trusted peer without X-Forwarded-For is judged by its own address', async () => {
    const s = await start(['203.0.113.5'], ['127.0.0.1']);
    assert.equal((await sendFlush(s, { 'CQ-Handle': '/content/site/en/page' })).status, 403);
    await assertUntouched();
  });
});
