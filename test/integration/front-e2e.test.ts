/**
 * End to end with the real front servers: client → nginx | Apache (`farmgate front`) → farmgate
 * → render, all on loopback. Clients bind other loopback addresses (127.0.0.2, 127.0.0.3) so
 * that "the client" is not itself a trusted proxy, as in production.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasBinary, startFront, type FrontServer } from '../../support/front-servers.js';
import { oneFarmYaml, startFarmgate, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';

const ALLOWED = '127.0.0.3';
const OUTSIDER = '127.0.0.2';
const BIG = Buffer.alloc(5 * 1024 * 1024, 'z');

/** The one-farm test config, with nginx/Apache as the only trusted proxy and one allowed flusher. */
function yaml(renderUrl: string): string {
  return oneFarmYaml(renderUrl)
    .replace('  listen: "127.0.0.1:0"', '  listen: "127.0.0.1:0"\n  trustedProxies: ["127.0.0.1"]')
    .replace('allowedClients: ["127.0.0.1", "::1"]', `allowedClients: ["${ALLOWED}"]`);
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(
  url: string,
  p: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string; agent?: http.Agent } = {},
): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: p,
        method: opts.method ?? 'GET',
        headers: { host: 'site.local', ...opts.headers },
        localAddress: opts.localAddress ?? OUTSIDER,
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

const flushHeaders = (handle: string) => ({ 'cq-action': 'Activate', 'cq-handle': handle, 'cq-path': handle, 'content-length': '0' });

for (const kind of ['nginx', 'apache'] as const) {
  describe(`${kind} in front of farmgate`, () => {
    let render: TestRender;
    let fg: TestFarmgate;
    let front: FrontServer;
    const connections = new Set<unknown>();

    before(async () => {
      const bin = kind === 'nginx' ? 'nginx' : 'apache2';
      if (!hasBinary(bin)) assert.fail(`${bin} is not installed: apt-get install ${bin} (.ci/run does)`);
      render = await startRender((req, n) =>
        req.url === '/content/big.html' ? { body: BIG, chunks: 20, dripMs: 5 } : { body: `${req.url} render ${n}` },
      );
      fg = await startFarmgate(yaml(render.url));
      fg.servers.public.on('connection', (s) => connections.add(s));
      await fs.chmod(fg.dir, 0o755); // the front's workers read the docroot
      const port = Number(new URL(fg.url).port);
      front = await startFront(kind, { config: fg.config, upstream: `127.0.0.1:${port}` });
    });
    after(async () => {
      await front?.stop();
      await fg?.close();
      await render?.close();
    });

    it('serves a page MISS then HIT through the front server', async () => {
      const a = await send(front.url, '/content/page.html');
      const b = await send(front.url, '/content/page.html');
      assert.equal(a.status, 200);
      assert.equal(a.headers['x-cache'], 'MISS');
      assert.equal(b.headers['x-cache'], 'HIT');
      assert.equal(b.body.toString(), a.body.toString());
      assert.equal(render.count('/content/page.html'), 1);
      const seen = render.requests.find((r) => r.url === '/content/page.html')!.headers;
      assert.match(String(seen['x-forwarded-for']), new RegExp(`${OUTSIDER.replace(/\./g, '\\.')}, 127\\.0\\.0\\.1$`));
    });

    it('a flush from an allowed client through the front server is applied', async () => {
      const r = await send(front.url, '/dispatcher/invalidate.cache', { method: 'POST', headers: flushHeaders('/content/page'), localAddress: ALLOWED });
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), '<H1>OK</H1>');
      assert.equal(r.headers['x-farmgate-farms'], 'site');
      await fs.stat(path.join(fg.docroot('site'), 'content/.stat'));
      const next = await send(front.url, '/content/page.html');
      assert.equal(next.headers['x-cache'], 'MISS');
    });

    it('a client-supplied X-Forwarded-For does not get a non-allowed client in', async () => {
      const before = await fs.stat(path.join(fg.docroot('site'), 'content/.stat'));
      for (const xff of [ALLOWED, `${ALLOWED}, 127.0.0.1`, '127.0.0.1']) {
        const r = await send(front.url, '/dispatcher/invalidate.cache', {
          method: 'POST',
          headers: { ...flushHeaders('/content/page'), 'x-forwarded-for': xff },
          localAddress: OUTSIDER,
        });
        assert.equal(r.status, 403, `spoofed X-Forwarded-For: ${xff}`);
      }
      const afterStat = await fs.stat(path.join(fg.docroot('site'), 'content/.stat'));
      assert.equal(afterStat.mtimeMs, before.mtimeMs, 'nothing touched');
    });

    it('an invalidate-and-refetch body passes through', async () => {
      const uris = '/content/page.html\n/content/other.html\n';
      const r = await send(front.url, '/dispatcher/invalidate.cache', {
        method: 'POST',
        headers: { 'cq-action': 'Activate', 'cq-handle': '/content/page', 'content-type': 'text/plain', accept: 'application/json' },
        body: uris,
        localAddress: ALLOWED,
      });
      assert.equal(r.status, 200, r.body.toString());
      const json = JSON.parse(r.body.toString());
      const refetch = json.farms[0].refetch as { uri: string; ok: boolean }[];
      assert.deepEqual(refetch.map((x) => [x.uri, x.ok]), [['/content/page.html', true], ['/content/other.html', true]]);
      const hit = await send(front.url, '/content/other.html');
      assert.equal(hit.headers['x-cache'], 'HIT');
    });

    it('a 5 MB page streams through, then is a HIT', async () => {
      const digest = createHash('sha256').update(BIG).digest('hex');
      const miss = await send(front.url, '/content/big.html');
      assert.equal(miss.body.length, BIG.length);
      assert.equal(createHash('sha256').update(miss.body).digest('hex'), digest);
      const hit = await send(front.url, '/content/big.html');
      assert.equal(hit.headers['x-cache'], 'HIT');
      assert.equal(createHash('sha256').update(hit.body).digest('hex'), digest);
    });

    it('keeps working over pooled keep-alive connections without leaking them', async () => {
      const total = kind === 'nginx' ? 10_000 : 3_000;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16, localAddress: OUTSIDER } as http.AgentOptions);
      await send(front.url, '/content/ka.html', { agent });
      connections.clear();
      let done = 0;
      const worker = async () => {
        while (done < total) {
          done++;
          const r = await send(front.url, '/content/ka.html', { agent });
          assert.equal(r.status, 200);
          assert.equal(r.headers['x-cache'], 'HIT');
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      agent.destroy();
      assert.ok(connections.size <= 64, `farmgate saw ${connections.size} connections for ${total} requests`);
      const open = await new Promise<number>((r) => fg.servers.public.getConnections((_e, n) => r(n)));
      assert.ok(open <= 64, `${open} connections left open`);
    });
  });
}
