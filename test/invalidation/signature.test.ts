import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkTimestamp, signBody, verifyBodySignature } from '../../src/invalidation/signature.js';

const SECRET = 'an-api-secret-0123456789';

describe('X-Farmgate-Signature', () => {
  it('is sha256=<hex HMAC-SHA256 of the exact body> (as openssl dgst -sha256 -hmac computes it)', () => {
    const body = Buffer.from('{"tags":["product-42"]}');
    const hex = createHmac('sha256', SECRET).update(body).digest('hex');
    assert.equal(signBody(body, SECRET), `sha256=${hex}`);
    assert.deepEqual(verifyBodySignature(body, `sha256=${hex}`, SECRET), { ok: true });
    assert.deepEqual(verifyBodySignature(body, ` sha256=${hex.toUpperCase()} `, SECRET), { ok: true });
  });

  it('refuses a missing, repeated, malformed or wrong signature, and a body changed by one byte', () => {
    const body = Buffer.from('{"tags":["product-42"]}');
    const good = signBody(body, SECRET);
    assert.match((verifyBodySignature(body, undefined, SECRET) as { reason: string }).reason, /missing/);
    assert.match((verifyBodySignature(body, [good, good], SECRET) as { reason: string }).reason, /more than one/);
    assert.match((verifyBodySignature(body, good.slice(7), SECRET) as { reason: string }).reason, /sha256=<64 hex/);
    assert.equal(verifyBodySignature(body, signBody(body, SECRET + 'x'), SECRET).ok, false);
    assert.equal(verifyBodySignature(Buffer.from('{"tags":["product-43"]}'), good, SECRET).ok, false);
    assert.equal(verifyBodySignature(Buffer.from('{"tags": ["product-42"]}'), good, SECRET).ok, false, 'no re-serialisation');
  });

  it('a signed time is good within the window either way', () => {
    assert.equal(checkTimestamp(1000, 1000 + 300_000, 300_000).ok, true);
    assert.equal(checkTimestamp(1000, 1001 + 300_000, 300_000).ok, false);
    assert.equal(checkTimestamp(1001 + 300_000, 1000, 300_000).ok, false);
    assert.equal(checkTimestamp(NaN, 1000, 300_000).ok, false);
  });
});
