/**
 * `farmgate flush` end to end against a real node:http server running the flush handler, plus a
 * capture server that records the request exactly as sent (method, headers, body).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildFlushRequest, flushCommand, flushUrl } from '../../src/cli/flush.js';
import type { Refetcher } from '../../src/flush/types.js';
import { runCli } from '../helpers/cli-io.js';
import { exists, makeConfig, seed, tempDir } from '../helpers/flush-fixtures.js';
import { startFlushServer, type FlushServer } from '../helpers/flush-server.js';

let base: string;
let docroot: string;
let srv: FlushServer;
let denied: FlushServer;
let capture: Server;
let captureUrl: string;
const captured: { method?: string; url?: string; headers?: IncomingHttpHeaders; body?: string }[] = [];
const refetched: string[] = [];
const refetch: Refetcher = async (_rt, _farm, uri) => {
  refetched.push(uri);
  return { uri, ok: true, status: 200 };
};

before(async () => {
  base = await tempDir();
  docroot = path.join(base, 'docroot');
  await seed(docroot, ['/content/site/en/page.html', '/content/site/en/page/child.html', '/content/site/en.html']);
  const farms = [{ name: 'site', docroot, statfileslevel: 2, flushRoutes: ['/content/site/**'] }];
  srv = await startFlushServer(makeConfig({ farms }), { refetch });
  denied = await startFlushServer(makeConfig({ farms, allowedClients: ['10.0.0.1'] }));
  capture = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      captured.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.setHeader('X-Farmgate-Farms', 'x');
      res.end('<H1>OK</H1>');
    });
  });
  capture.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
  captureUrl = `http://127.0.0.1:${(capture.address() as AddressInfo).port}`;
});
after(async () => {
  await srv.close();
  await denied.close();
  capture.closeAllConnections();
  await new Promise((resolve) => capture.close(resolve));
  await fs.rm(base, { recursive: true, force: true });
});

const flush = (...args: string[]) => runCli(flushCommand, ['flush', ...args]);

describe('farmgate flush', () => {
  it('sends what an AEM flush agent sends: POST, CQ-Action/Handle/Path, octet-stream, Content-Length 0', async () => {
    const r = await flush('--url', captureUrl, '--handle', '/content/site/en/page');
    assert.equal(r.code, 0, r.err);
    const req = captured.at(-1)!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/dispatcher/invalidate.cache');
    assert.equal(req.headers!['cq-action'], 'Activate');
    assert.equal(req.headers!['cq-handle'], '/content/site/en/page');
    assert.equal(req.headers!['cq-path'], '/content/site/en/page');
    assert.equal(req.headers!['content-type'], 'application/octet-stream');
    assert.equal(req.headers!['content-length'], '0');
    assert.equal(req.headers!['cq-action-scope'], undefined);
    assert.equal(req.body, '');
  });

  it('refetch URIs go as a text/plain body, one per line; scope and path as headers', async () => {
    const r = await flush('--url', captureUrl + '/custom/invalidate.cache', '--handle', '/content/café', '--action', 'delete',
      '--scope', 'ResourceOnly', '--path', '/content/route');
    assert.equal(r.code, 0, r.err);
    const req = captured.at(-1)!;
    assert.equal(req.url, '/custom/invalidate.cache');
    assert.equal(req.headers!['cq-action'], 'Delete');
    assert.equal(req.headers!['cq-handle'], '/content/caf%C3%A9');
    assert.equal(req.headers!['cq-path'], '/content/route');
    assert.equal(req.headers!['cq-action-scope'], 'ResourceOnly');
    const { headers, body } = buildFlushRequest({ url: '', handle: '/c', refetch: ['/a.html', '/b.html'] });
    assert.equal(headers['Content-Type'], 'text/plain');
    assert.equal(body, '/a.html\n/b.html\n');
    assert.equal(flushUrl('http://h:80').pathname, '/dispatcher/invalidate.cache');
  });

  it('against farmgate: 200, prints the status and farms, the flush is applied, refetch URIs reach the refetcher', async () => {
    const r = await flush('--url', srv.url, '--handle', '/content/site/en/page', '--refetch', '/content/site/en.html', '--refetch', '/content/site/en/page.html');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '200 Activate /content/site/en/page → farms: site\n');
    assert.equal(await exists(path.join(docroot, 'content/site/en/page.html')), false);
    assert.equal(await exists(path.join(docroot, 'content/site/.stat')), true);
    assert.deepEqual(refetched, ['/content/site/en.html', '/content/site/en/page.html']);
  });

  it('--json prints the JSON report', async () => {
    const r = await flush('--url', srv.flushUrl, '--handle', '/content/site/en/page', '--action', 'Delete', '--json');
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(r.out.slice(r.out.indexOf('\n') + 1)) as { action: string; farms: { deleted: string[] }[] };
    assert.equal(json.action, 'Delete');
    assert.deepEqual(json.farms[0]!.deleted, ['/content/site/en/page']);
    assert.equal(await exists(path.join(docroot, 'content/site/en/page')), false);
  });

  it('a refused flush exits 1 and shows status and reason', async () => {
    const r = await flush('--url', denied.url, '--handle', '/content/site/en.html');
    assert.equal(r.code, 1);
    assert.match(r.err, /^403 Activate \/content\/site\/en\.html → farms: \(no X-Farmgate-Farms header\)\nflush not allowed from 127\.0\.0\.1/);
    const bad = await flush('--url', srv.url, '--handle', '/content/../x');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^400 /);
  });

  it('an unreachable server or a bad URL exits 1', async () => {
    const gone = await flush('--url', 'http://127.0.0.1:9/', '--handle', '/content', '--timeout', '2000');
    assert.equal(gone.code, 1);
    assert.match(gone.err, /flush to http:\/\/127\.0\.0\.1:9\/dispatcher\/invalidate\.cache failed/);
    const bad = await flush('--url', 'not a url', '--handle', '/content');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /invalid --url/);
  });
});
