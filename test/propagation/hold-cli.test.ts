/** `farmgate hold|release`: the admin URL it calls, the token it sends, its exit code. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { holdUrl, runHold } from '../../src/cli/hold.js';

describe('farmgate hold|release', () => {
  it('targets this server, or another one by name (relayed)', () => {
    assert.equal(holdUrl('hold', 'http://127.0.0.1:9180').href, 'http://127.0.0.1:9180/admin/api/hold');
    assert.equal(holdUrl('release', 'http://127.0.0.1:9180/', 'web 2').href, 'http://127.0.0.1:9180/admin/api/servers/web%202/release');
    assert.throws(() => holdUrl('hold', 'ftp://x'));
  });

  it('POSTs with the bearer token; exit 0 on 200/202, 1 otherwise', async () => {
    const seen: string[] = [];
    const srv = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
      res.writeHead(req.url!.includes('/servers/') ? 202 : req.headers.authorization ? 200 : 401).end('{}');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const admin = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t), exit: () => undefined, color: false };
    try {
      assert.equal(await runHold('hold', { admin, token: 'T' }, io), 0);
      assert.equal(await runHold('release', { admin, server: 'web2', token: 'T' }, io), 0);
      assert.equal(await runHold('hold', { admin, token: '' }, io), 1);
    } finally {
      srv.close();
    }
    assert.deepEqual(seen, ['POST /admin/api/hold Bearer T', 'POST /admin/api/servers/web2/release Bearer T', 'POST /admin/api/hold -']);
    assert.match(out.join(''), /relayed through Redis/);
  });
});
