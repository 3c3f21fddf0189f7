import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddress, compileAddressList, normalizeAddress } from '../../src/net/client-address.js';

describe('normalizeAddress', () => {
  for (const [input, expected] of [
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['[::1]:8080', '::1'],
    ['[2001:DB8::1]', '2001:db8::1'],
    ['1.2.3.4:5678', '1.2.3.4'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::1', '::1'],
    ['not-an-ip', 'not-an-ip'],
  ] as const) {
    it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(normalizeAddress(input), expected));
  }
});

describe('compileAddressList', () => {
  const list = compileAddressList(['127.0.0.1', '10.0.0.0/8', '::1', '2001:db8::/32']);

  it('matches IPv4 addresses and CIDRs', () => {
    assert.equal(list('127.0.0.1'), true);
    assert.equal(list('10.200.3.4'), true);
    assert.equal(list('11.0.0.1'), false);
    assert.equal(list('127.0.0.2'), false);
  });

  it('matches IPv6 addresses and CIDRs', () => {
    assert.equal(list('::1'), true);
    assert.equal(list('2001:db8:1::5'), true);
    assert.equal(list('2001:db9::1'), false);
  });

  it('treats IPv4-mapped IPv6 peers as IPv4', () => {
    assert.equal(list('::ffff:127.0.0.1'), true);
    assert.equal(list('::ffff:10.1.1.1'), true);
    assert.equal(list('::ffff:192.168.1.1'), false);
  });

  it('never matches something that is not an IP', () => {
    assert.equal(list(''), false);
    assert.equal(list('localhost'), false);
    assert.equal(list('127.0.0.1, 10.0.0.1'), false);
  });

  it('an empty list matches nothing; a bad entry throws', () => {
    assert.equal(compileAddressList([])('127.0.0.1'), false);
    assert.throws(() => compileAddressList(['example.com']));
  });
});

describe('clientAddress', () => {
  const trusted = compileAddressList(['127.0.0.1', '10.0.0.0/8']);

  it('an untrusted peer is the client, whatever X-Forwarded-For says (no spoofing)', () => {
    assert.equal(clientAddress('203.0.113.7', '127.0.0.1', trusted), '203.0.113.7');
    assert.equal(clientAddress('::ffff:203.0.113.7', '127.0.0.1', trusted), '203.0.113.7');
  });

  it('a trusted peer without X-Forwarded-For is the client', () => {
    assert.equal(clientAddress('127.0.0.1', undefined, trusted), '127.0.0.1');
    assert.equal(clientAddress('127.0.0.1', '', trusted), '127.0.0.1');
  });

  it('behind a trusted proxy: the right-most entry that is not trusted', () => {
    assert.equal(clientAddress('127.0.0.1', '198.51.100.1', trusted), '198.51.100.1');
    // A client sent "X-Forwarded-For: 127.0.0.1"; nginx appended the real address.
    assert.equal(clientAddress('127.0.0.1', '127.0.0.1, 198.51.100.1', trusted), '198.51.100.1');
    // Two proxies: nginx (10.0.0.2) behind a load balancer (127.0.0.1).
    assert.equal(clientAddress('127.0.0.1', '6.6.6.6, 198.51.100.1, 10.0.0.2', trusted), '198.51.100.1');
  });

  it('when every entry is trusted, the left-most one', () => {
    assert.equal(clientAddress('127.0.0.1', '10.0.0.3, 10.0.0.2', trusted), '10.0.0.3');
  });

  it('joins repeated headers and normalizes entries', () => {
    assert.equal(clientAddress('::ffff:127.0.0.1', ['1.1.1.1', '::ffff:198.51.100.9'], trusted), '198.51.100.9');
    assert.equal(clientAddress('127.0.0.1', '198.51.100.1:4711 , ', trusted), '198.51.100.1');
  });
});
