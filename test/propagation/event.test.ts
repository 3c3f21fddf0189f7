/** The wire format: sign/verify (constant time), encode/decode, version and shape checks. Pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHmac } from 'node:crypto';
import { decodeEntry, encodeEvent, sign, toEvent, toTagEvent, verifySignature, type FlushEvent } from '../../src/propagation/event.js';

const SECRET = 'unit-test-secret-0123456789';
const EVENT: FlushEvent = { id: 'e-1', origin: 'web1', ts: 1_700_000_000_000, action: 'Activate', scope: null, handle: '/content/a/page', path: '/content/a/page', refetch: ['/content/a/page.html'] };

describe('event wire format', () => {
  it('signs the payload with hex HMAC-SHA256', () => {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    assert.equal(sign('what do ya want for nothing?', 'Jefe'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('encodes v=1, the payload in the contract key order, and its signature', () => {
    const entry = encodeEvent(EVENT, SECRET);
    assert.equal(entry.v, '1');
    assert.deepEqual(Object.keys(JSON.parse(entry.payload)), ['id', 'origin', 'ts', 'action', 'scope', 'handle', 'path', 'refetch']);
    assert.equal(entry.sig, sign(entry.payload, SECRET));
  });

  it('round-trips', () => {
    const entry = encodeEvent(EVENT, SECRET);
    const decoded = decodeEntry({ ...entry }, SECRET);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.event, EVENT);
  });

  it('refuses a tampered payload, a wrong key, a truncated or non-hex signature', () => {
    const entry = encodeEvent(EVENT, SECRET);
    const cases: Record<string, string>[] = [
      { ...entry, payload: entry.payload.replace('/content/a/page', '/content/b/page') },
      { ...encodeEvent(EVENT, 'another-secret-0123456789') },
      { ...entry, sig: entry.sig.slice(0, 32) },
      { ...entry, sig: 'z'.repeat(64) },
      { ...entry, sig: '' },
    ];
    for (const c of cases) {
      const r = decodeEntry(c, SECRET);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.reason, 'signature');
    }
    assert.equal(verifySignature(entry.payload, entry.sig.toUpperCase(), SECRET), true, 'hex is case-insensitive');
  });

  it('refuses other versions before looking at the signature', () => {
    const entry = encodeEvent(EVENT, SECRET);
    for (const v of ['2', '0', '', undefined]) {
      const fields: Record<string, string> = { payload: entry.payload, sig: entry.sig };
      if (v !== undefined) fields.v = v;
      const r = decodeEntry(fields, SECRET);
      assert.equal(!r.ok && r.reason, 'version');
    }
  });

  it('refuses signed but malformed payloads: bad JSON, Test, traversal, missing fields', () => {
    const bad = [
      'not json',
      JSON.stringify({ ...EVENT, action: 'Test' }),
      JSON.stringify({ ...EVENT, handle: '/content/../etc' }),
      JSON.stringify({ ...EVENT, path: 'relative' }),
      JSON.stringify({ ...EVENT, id: undefined }),
      JSON.stringify({ ...EVENT, refetch: ['http://x/'] }),
      JSON.stringify([EVENT]),
    ];
    for (const payload of bad) {
      const r = decodeEntry({ v: '1', payload, sig: sign(payload, SECRET) }, SECRET);
      assert.equal(!r.ok && r.reason, 'malformed', payload);
    }
  });

  it('builds an event from a flush; Test is never propagated', () => {
    const flush = { action: 'Delete', scope: 'ResourceOnly', handle: '/content/a', routingKey: '/content/a/x', refetch: [] } as const;
    assert.deepEqual(toEvent(flush, { id: 'i', origin: 'o', ts: 1 }), {
      id: 'i', origin: 'o', ts: 1, action: 'Delete', scope: 'ResourceOnly', handle: '/content/a', path: '/content/a/x', refetch: [],
    });
    assert.throws(() => toEvent({ ...flush, action: 'Test' }, { id: 'i', origin: 'o', ts: 1 }));
  });
});

describe('tag events (payload gains tags)', () => {
  const S = 'tag-event-secret-0123456789';
  it('a tag event has null handle and path, its tags and farms; it round-trips', () => {
    const entry = encodeEvent(toTagEvent({ tags: ['product-42', 'nav'], action: 'Delete', farms: ['site-a'] }, { id: 't1', origin: 'web1', ts: 5 }), S);
    assert.deepEqual(JSON.parse(entry.payload), { id: 't1', origin: 'web1', ts: 5, action: 'Delete', scope: null, handle: null, path: null, refetch: [], tags: ['product-42', 'nav'], farms: ['site-a'] });
    const d = decodeEntry({ ...entry }, S);
    assert.ok(d.ok);
    assert.deepEqual(d.ok && d.event, { id: 't1', origin: 'web1', ts: 5, action: 'Delete', tags: ['product-42', 'nav'], farms: ['site-a'] });
  });

  it('a flush event without farms is byte-for-byte the old payload; with farms it carries them', () => {
    const flush = { action: 'Activate' as const, scope: undefined, handle: '/content/a', routingKey: '/content/a', refetch: [] };
    const plain = encodeEvent(toEvent(flush, { id: 'f1', origin: 'web1', ts: 1 }), S);
    assert.equal(plain.payload, '{"id":"f1","origin":"web1","ts":1,"action":"Activate","scope":null,"handle":"/content/a","path":"/content/a","refetch":[]}');
    const only = decodeEntry({ ...encodeEvent(toEvent(flush, { id: 'f2', origin: 'web1', ts: 1, only: ['site-b'] }), S) }, S);
    assert.deepEqual(only.ok && only.event.farms, ['site-b']);
  });

  it('refuses a tag event with a handle, a bad tag, no tags or bad farm names (signed or not)', () => {
    const sign = (payload: Record<string, unknown>) => {
      const text = JSON.stringify({ id: 'x', origin: 'web1', ts: 1, action: 'Activate', scope: null, handle: null, path: null, refetch: [], ...payload });
      return { v: '1', payload: text, sig: createHmac('sha256', S).update(text).digest('hex') };
    };
    for (const bad of [{ tags: ['ok'], handle: '/' , path: '/' }, { tags: ['a b'] }, { tags: [] }, { tags: ['ok'], farms: ['../x'] }, { tags: ['ok'], action: 'Deactivate' }]) {
      const d = decodeEntry(sign(bad), S);
      assert.equal(d.ok, false, JSON.stringify(bad));
    }
    // A server that does not know tags reads handle null as malformed, never as a flush of "/".
    assert.equal(decodeEntry(sign({ tags: ['ok'] }), S).ok, true);
  });
});
